import { HttpStatus } from '@nestjs/common';
import { ERROR_MESSAGES } from './error-messages';
import { StatsApiError } from './stats-api.error';

/** 504: a host-provided session source did not answer within `sessions.sourceTimeoutMs`. */
export class SourceTimeoutError extends StatsApiError {
  constructor(sourceName: string, timeoutMs: number) {
    super(
      HttpStatus.GATEWAY_TIMEOUT,
      'gateway_timeout',
      ERROR_MESSAGES.sourceTimeout,
      {},
      new Error(`session source ${sourceName} did not answer within ${timeoutMs} ms`),
    );
  }
}
