import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { withinDeadline } from '../common/deadline';
import { GeoService } from '../geo/geo.service';
import type { SessionStore } from '../sessions/session-store.interface';
import { SESSION_STORE } from '../stats.constants';

/** A store that does not answer within this bound counts as down. */
const PING_TIMEOUT_MS = 2000;

/**
 * Terminus health indicator: up when the GeoIP data is loaded and the session store answers.
 * `health.check([() => stats.isHealthy('stats')])`.
 */
@Injectable()
export class StatsHealthIndicator {
  constructor(
    private readonly healthIndicators: HealthIndicatorService,
    private readonly geo: GeoService,
    @Inject(SESSION_STORE) private readonly store: SessionStore,
  ) {}

  async isHealthy(key = 'stats'): Promise<HealthIndicatorResult> {
    const indicator = this.healthIndicators.check(key);
    const geo = this.geo.isReady() ? 'up' : 'down';
    let store = 'up';
    let storeError: string | undefined;
    try {
      await withinDeadline(
        Promise.resolve().then(() => this.store.ping()),
        Date.now() + PING_TIMEOUT_MS,
        () => new Error(`no answer within ${PING_TIMEOUT_MS} ms`),
      );
    } catch (error) {
      store = 'down';
      storeError = reason(error);
    }
    const details: Record<string, string> = storeError ? { geo, store, storeError } : { geo, store };
    return geo === 'up' && store === 'up' ? indicator.up(details) : indicator.down(details);
  }
}

/** The underlying problem (e.g. "connect ECONNREFUSED") rather than the 503 text wrapped around it. */
function reason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
