import { HttpStatus } from '@nestjs/common';
import { StatsApiError } from './stats-api.error';

/**
 * 503: a write was sent to the session store (Redis), which did not answer in time. It may or may
 * not have been applied; one that Redis gets to after the deadline is not applied. Touching again
 * is safe: the newest sighting of a session wins. Compare {@link StoreUnavailableError}: nothing was sent.
 */
export class StoreOutcomeUnknownError extends StatsApiError {
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
