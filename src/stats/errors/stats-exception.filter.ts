import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { InsufficientPermissionsError } from './insufficient-permissions.error';
import { InternalError } from './internal.error';
import { NotAcceptableError } from './not-acceptable.error';
import { StatsApiError } from './stats-api.error';
import { TokenError } from './token.error';

/**
 * Gives every error of the module's routes the documented body `{ id, message }` and nothing else.
 * Applied with @UseFilters on the module's controller only, never globally.
 */
@Catch()
export class StatsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('StatsModule');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const error = toApiError(exception);
    if (error.getStatus() >= 500) {
      const cause = error.cause ?? exception;
      this.logger.error(
        `${error.getStatus()} ${error.id}: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause instanceof Error ? cause.stack : undefined,
      );
    }
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const body = JSON.stringify(error.body);
    response.status(error.getStatus());
    for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.setHeader('Cache-Control', 'no-store');
    response.end(body);
  }
}

function toApiError(exception: unknown): StatsApiError {
  if (exception instanceof StatsApiError) return exception;
  if (exception instanceof HttpException) {
    switch (exception.getStatus()) {
      case HttpStatus.UNAUTHORIZED:
        return new TokenError(false);
      case HttpStatus.FORBIDDEN:
        return new InsufficientPermissionsError();
      case HttpStatus.NOT_ACCEPTABLE:
        return new NotAcceptableError();
    }
    if (exception.getStatus() < 500) {
      const id = (HttpStatus[exception.getStatus()] ?? 'client_error').toLowerCase();
      return new StatsApiError(exception.getStatus(), id, exception.message);
    }
  }
  return new InternalError(exception);
}
