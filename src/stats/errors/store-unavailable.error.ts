import { SessionStoreError } from './session-store.error';

/**
 * 503: the session store (Redis) cannot be reached, or refused the call: nothing was stored. A
 * write that was sent but not answered in time fails with {@link StoreOutcomeUnknownError} instead.
 */
export class StoreUnavailableError extends SessionStoreError {
  constructor(cause?: unknown) {
    super(cause);
  }
}
