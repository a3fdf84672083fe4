import { HttpStatus } from '@nestjs/common';
import { ERROR_MESSAGES } from './error-messages';
import { StatsApiError } from './stats-api.error';

/**
 * 503: the identity provider's JWKS endpoint cannot be reached and no key set is known yet. Not a
 * 401: the caller's token may well be valid, and logging in again would not help.
 */
export class KeySetUnavailableError extends StatsApiError {
  constructor(cause?: unknown) {
    super(
      HttpStatus.SERVICE_UNAVAILABLE,
      'service_unavailable',
      ERROR_MESSAGES.keysUnavailable,
      { 'Retry-After': '5' },
      cause,
    );
  }
}
