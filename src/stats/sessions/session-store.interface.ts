/** A session as stored: IP normalised, version trimmed (`unknown` when missing), seen time in ms. */
export interface StoredSession {
  id: string;
  ip: string;
  clientVersion: string;
  seenAt: number;
}

/** What the dashboard needs, kept up to date by the store as sessions come, change and expire. */
export interface SessionAggregates {
  /** Changes whenever any of the figures below changes; equal revisions mean equal figures. */
  revision: string;
  totalCount: number;
  /** Active sessions per normalised IP address. */
  sessionsByIp: ReadonlyMap<string, number>;
  /** Active sessions per client version key. */
  sessionsByVersion: ReadonlyMap<string, number>;
  /**
   * The IPs whose count changed since the previous `aggregates` call, when the store can tell
   * (both stores do, except on a first or a restarted read); absent, the caller compares every IP.
   */
  changedIps?: ReadonlySet<string>;
}

/**
 * Where the module keeps the sessions reported through {@link SessionsService}. The in-memory store
 * is the default; the Redis store shares sessions between instances. Every method drops sessions
 * not seen for the configured TTL before it answers, so no separate sweeper has to run.
 */
export interface SessionStore {
  /** Inserts or refreshes sessions; for an id already stored, the newest `seenAt` wins. */
  upsert(sessions: readonly StoredSession[], now: number): Promise<void>;
  /** Removes sessions by id; unknown ids are ignored. */
  remove(ids: readonly string[], now: number): Promise<void>;
  /** The current revision of the aggregates: a cheap call that lets callers reuse a cached dashboard. */
  revision(now: number): Promise<string>;
  aggregates(now: number): Promise<SessionAggregates>;
  /** The active sessions among `ids`, to merge host-provided sources by session id. */
  find(ids: readonly string[], now: number): Promise<Map<string, StoredSession>>;
  /** Resolves when the store can serve requests; rejects otherwise (health checks). */
  ping(): Promise<void>;
}
