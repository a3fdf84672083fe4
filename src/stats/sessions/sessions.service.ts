import { Inject, Injectable } from '@nestjs/common';
import { SESSION_STORE } from '../stats.constants';
import { sessionId, storedSessionFromTouch } from './session-input';
import type { SessionStore } from './session-store.interface';
import type { TouchSessionInput } from './session.types';

/** The host's way to report sessions: `touch` on every sign of life, `end` on logout or disconnect. */
@Injectable()
export class SessionsService {
  constructor(@Inject(SESSION_STORE) private readonly store: SessionStore) {}

  /**
   * Records that a session is active (seen now, or at `seenAt`). Rejects with an
   * InvalidSessionError naming the field when the id, IP or version is unusable; nothing is stored.
   */
  async touch(input: TouchSessionInput): Promise<void> {
    const now = Date.now();
    await this.store.upsert([storedSessionFromTouch(input, now)], now);
  }

  /** Records many sessions in one store call; all are validated before any is stored. */
  async touchMany(inputs: readonly TouchSessionInput[]): Promise<void> {
    const now = Date.now();
    const sessions = inputs.map((input) => storedSessionFromTouch(input, now));
    if (sessions.length > 0) await this.store.upsert(sessions, now);
  }

  /** Ends a session at once instead of waiting for it to expire. */
  async end(id: string): Promise<void> {
    await this.store.remove([sessionId(id)], Date.now());
  }
}
