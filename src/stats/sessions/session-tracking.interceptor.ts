import {
  Inject,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { claimAt } from '../auth/roles';
import { ThrottledLog } from '../common/throttled-log';
import { STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.validation';
import { SessionsService } from './sessions.service';

/** At most one warning per this interval, so a misbehaving client cannot flood the log. */
const WARNING_INTERVAL_MS = 60_000;

/**
 * Records a session for each authenticated request of the host: the id from a claim of the
 * verified token (`tracking.sessionIdClaim`, default `sid`), the IP from `request.ip` (so Express's
 * `trust proxy` setting decides which proxy headers count), the version from a header (default
 * `X-Client-Version`). Apply it where the host's authentication has already run, e.g.
 * `@UseInterceptors(SessionTrackingInterceptor)`. It never delays or fails the request.
 */
@Injectable()
export class SessionTrackingInterceptor implements NestInterceptor {
  private readonly logger = new Logger('StatsModule');
  private readonly failures = new ThrottledLog(WARNING_INTERVAL_MS, (line) => this.logger.warn(line));

  constructor(
    private readonly sessions: SessionsService,
    @Inject(STATS_RESOLVED_OPTIONS) private readonly options: ResolvedStatsOptions,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') this.track(context.switchToHttp().getRequest<Request>());
    return next.handle();
  }

  private track(request: Request): void {
    const { userProperty, sessionIdClaim, clientVersionHeader } = this.options.tracking;
    const id = claimAt((request as unknown as Record<string, unknown>)[userProperty], sessionIdClaim);
    if (typeof id !== 'string' || id === '') return; // not an authenticated session
    const header = request.headers[clientVersionHeader];
    const clientVersion = Array.isArray(header) ? header[0] : header;
    const ip = request.ip ?? request.socket?.remoteAddress ?? '';
    this.sessions
      .touch({ id, ip, clientVersion })
      .catch((error: Error) => this.failures.report('touch', `Session not recorded: ${error.message}`));
  }
}
