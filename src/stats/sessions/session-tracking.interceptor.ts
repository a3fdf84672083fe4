import { Inject, Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { claimAt } from '../auth/roles';
import { STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.resolver';
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
  private lastWarningAt = 0;
  private suppressedWarnings = 0;

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
    this.sessions.touch({ id, ip, clientVersion }).catch((error: Error) => this.warn(error));
  }

  private warn(error: Error): void {
    const now = Date.now();
    if (now - this.lastWarningAt < WARNING_INTERVAL_MS) {
      this.suppressedWarnings++;
      return;
    }
    const suppressed = this.suppressedWarnings ? ` (${this.suppressedWarnings} similar suppressed)` : '';
    this.logger.warn(`Session not recorded: ${error.message}${suppressed}`);
    this.lastWarningAt = now;
    this.suppressedWarnings = 0;
  }
}
