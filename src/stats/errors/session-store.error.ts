import { HttpStatus } from '@nestjs/common';
import { ERROR_MESSAGES } from './error-messages';
import { StatsApiError } from './stats-api.error';

/** 503 for a session store (Redis) that failed: the route's answer is the same whatever the failure. */
export abstract class SessionStoreError extends StatsApiError {
  protected constructor(cause?: unknown) {
    super(
      HttpStatus.SERVICE_UNAVAILABLE,
      'service_unavailable',
      ERROR_MESSAGES.storeUnavailable,
      { 'Retry-After': '5' },
      cause,
    );
  }
}
