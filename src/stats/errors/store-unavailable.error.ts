import { HttpStatus } from '@nestjs/common';
import { StatsApiError } from './stats-api.error';

/**
 * 503: the session store (Redis) cannot be reached, or refused the call: nothing was stored. A
 * write that was sent but not answered in time fails with {@link StoreOutcomeUnknownError} instead.
 */
export class StoreUnavailableError extends StatsApiError {
  constructor(cause?: unknown) {
    super(
      HttpStatus.SERVICE_UNAVAILABLE,
      'service_unavailable',
      'Session store unavailable. Try again later.',
      { 'Retry-After': '5' },
      cause,
    );
  }
}
