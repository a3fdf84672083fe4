import type { ResolvedStatsOptions } from '../stats-options.resolver';
import { MemorySessionStore } from './memory-session.store';
import type { SessionStore } from './session-store.interface';

/** The host's own store if it gave one; otherwise sessions live in this process. */
export function createSessionStore(options: ResolvedStatsOptions): SessionStore {
  const { store, ttlSeconds } = options.sessions;
  if (store) return store;
  return new MemorySessionStore(ttlSeconds);
}
