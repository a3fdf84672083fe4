import type { LoggerService } from '@nestjs/common';
import { SessionStoreError, type SessionsService, type TouchSessionInput } from '../stats';

/** Public addresses that geoip-lite places on every inhabited continent. */
const DEMO_NETWORKS = [
  '8.8.8.', // US, North America
  '81.2.69.', // GB, Europe
  '85.228.0.', // SE, Europe
  '49.44.0.', // IN, Asia
  '1.0.0.', // AU, Oceania
  '41.0.0.', // ZA, Africa
  '200.160.2.', // BR, South America
];
const DEMO_VERSIONS = [
  '6.1.2-32120-release',
  '6.0.0-release-1234',
  '5.5.0-release-1234',
  '5.4.1-release-1234',
  undefined,
];

/** Fills the store with `count` synthetic sessions, about two per IP, so a new dashboard has data. */
export async function addDemoSessions(sessions: SessionsService, count: number): Promise<void> {
  const batch: TouchSessionInput[] = [];
  for (let i = 0; i < count; i++) {
    const network = DEMO_NETWORKS[i % DEMO_NETWORKS.length];
    batch.push({
      id: `demo-${i}`,
      ip: `${network}${1 + (Math.floor(i / 2 / DEMO_NETWORKS.length) % 254)}`,
      clientVersion: DEMO_VERSIONS[i % DEMO_VERSIONS.length],
    });
    if (batch.length === 10_000) await sessions.touchMany(batch.splice(0));
  }
  await sessions.touchMany(batch);
}

/**
 * Adds the demo sessions, and never fails: while the store is unavailable (Redis down), it logs
 * why and tries again every `retryMs` in the background until the store answers. Resolves after
 * the first attempt, so the host listens either way.
 */
export async function addDemoSessionsWhenStoreAnswers(
  sessions: SessionsService,
  count: number,
  logger: Pick<LoggerService, 'log' | 'warn' | 'error'>,
  retryMs = 5000,
): Promise<void> {
  const attempt = async (first: boolean): Promise<void> => {
    try {
      await addDemoSessions(sessions, count);
      if (!first) logger.log(`Added ${count} demo sessions: the session store answers again`);
    } catch (error) {
      if (!(error instanceof SessionStoreError)) {
        logger.error(`Demo sessions not added: ${describe(error)}`);
        return;
      }
      if (first) {
        logger.warn(
          `Demo sessions not added yet, the session store is unavailable (${describe(error.cause)}); trying again every ${retryMs / 1000} s`,
        );
      }
      // Unreferenced: a host shutting down does not wait for the next try.
      setTimeout(() => void attempt(false), retryMs).unref();
    }
  };
  await attempt(true);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
