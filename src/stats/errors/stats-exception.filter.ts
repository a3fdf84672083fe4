import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpPlatformHost } from '../http/http-platform.host';
import { ThrottledLog } from '../common/throttled-log';
import { InsufficientPermissionsError } from './insufficient-permissions.error';
import { InternalError } from './internal.error';
import { NotAcceptableError } from './not-acceptable.error';
import { StatsApiError } from './stats-api.error';
import { TokenError } from './token.error';

/** At most one warning per error id in this interval, so an outage does not flood the log. */
const WARNING_INTERVAL_MS = 30_000;

/**
 * Gives every error of the module's routes the documented body `{ id, message }` and nothing else,
 * on whichever HTTP platform the host runs. Applied with @UseFilters on the module's controller
 * only, never globally.
 */
@Catch()
export class StatsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('StatsModule');
  private readonly outages = new ThrottledLog(WARNING_INTERVAL_MS, (line) => this.logger.warn(line));

  constructor(private readonly http: HttpPlatformHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<object>();
    const error = toApiError(exception);
    const cause = error.cause ?? exception;
    if (error.getStatus() === HttpStatus.SERVICE_UNAVAILABLE || error.getStatus() === HttpStatus.GATEWAY_TIMEOUT) {
      // An outage fails every poll of every admin UI: one line per interval, no stack.
      this.outages.report(
        error.id,
        `${error.getStatus()} ${error.id}: ${cause instanceof Error ? cause.message : String(cause)}`,
      );
    } else if (error.getStatus() >= 500) {
      this.logger.error(
        `${error.getStatus()} ${error.id}: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause instanceof Error ? cause.stack : undefined,
      );
    } else if (cause !== error) {
      // An error of another source, answered with a generic message: its own goes to the log.
      this.logger.warn(`${error.getStatus()} ${error.id}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    const platform = this.http.platform;
    if (platform.isStarted(response)) {
      platform.abort(response);
      return;
    }
    const body = JSON.stringify(error.body);
    // Content-Length given, not left to the platform: Node leaves it out of Express's answer to HEAD.
    const headers = {
      ...error.headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
    };
    platform.send(response, error.getStatus(), headers, body);
  }
}

/**
 * The documented error for any exception. Errors of other sources (Nest's own, a host's) keep
 * their status but get a generic message: theirs may carry details meant for the log.
 */
export function toApiError(exception: unknown): StatsApiError {
  if (exception instanceof StatsApiError) return exception;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    switch (status) {
      case HttpStatus.UNAUTHORIZED:
        return new TokenError(false);
      case HttpStatus.FORBIDDEN:
        return new InsufficientPermissionsError();
      case HttpStatus.NOT_ACCEPTABLE:
        return new NotAcceptableError();
    }
    if (
      (status >= 400 && status < 500) ||
      status === HttpStatus.SERVICE_UNAVAILABLE ||
      status === HttpStatus.GATEWAY_TIMEOUT
    ) {
      return generic(status, exception);
    }
  }
  return new InternalError(exception);
}

/** `{ id: 'not_found', message: 'Not found.' }` for a 404, and so on. */
function generic(status: number, cause: HttpException): StatsApiError {
  const name = HttpStatus[status];
  if (!name) return new StatsApiError(status, 'client_error', 'Invalid request.', {}, cause);
  const words = name.toLowerCase().split('_');
  return new StatsApiError(
    status,
    words.join('_'),
    `${words.join(' ').replace(/^./, (c) => c.toUpperCase())}.`,
    {},
    cause,
  );
}
