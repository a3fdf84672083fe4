import { SessionStoreError } from './session-store.error';

/**
 * 503: a write was sent to the session store (Redis), which did not answer in time. It may or may
 * not have been applied; one that Redis gets to after the deadline is not applied. Touching again
 * is safe: the newest sighting of a session wins. Compare {@link StoreUnavailableError}: nothing was sent.
 */
export class StoreOutcomeUnknownError extends SessionStoreError {
  constructor(cause?: unknown) {
    super(cause);
  }
}
