import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StatsModule, type StatsModuleOptions } from '../../src/stats';
import { startHttpApp } from './http-platform';
import { TEST_SECRET } from './tokens';

export const DASHBOARD = '/stats/active-sessions/dashboard';

export const DEFAULT_OPTIONS: StatsModuleOptions = {
  auth: { secret: TEST_SECRET },
  versionPolicy: { full: '>=6.0.0', partial: '>=5.5.0 <6.0.0' },
};

/** Logs kept in memory, so specs can assert what went to the log (and what did not). */
export class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown) {
    this.lines.push(`log ${String(message)}`);
  }
  error(message: unknown, stack?: unknown) {
    this.lines.push(`error ${String(message)} ${stack ?? ''}`);
  }
  warn(message: unknown) {
    this.lines.push(`warn ${String(message)}`);
  }
  debug() {}
  verbose() {}
  text(): string {
    return this.lines.join('\n');
  }
}

/** A Nest app that imports only the StatsModule, as a host would, on the HTTP platform of this run. */
export async function createStatsApp(
  overrides: Partial<StatsModuleOptions> = {},
  logger: LoggerService | false = false,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [StatsModule.forRoot({ ...DEFAULT_OPTIONS, ...overrides })],
  }).compile();
  return startHttpApp(moduleRef, { logger });
}
