import { HttpStatus } from '@nestjs/common';
import { StatsApiError } from './stats-api.error';

/** 503: the session store (Redis) cannot be reached or did not answer in time. */
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
