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
   * Where these figures stand in the store's change feed, for stores that offer one (see
   * {@link SessionStore.changedIpsSince}). Absent, a reader compares every IP each time.
   */
  changePosition?: number;
}

/**
 * Where the module keeps the sessions reported through {@link SessionsService}. The in-memory store
 * is the default; the Redis store shares sessions between instances. A custom store (option
 * `sessions.store`) must:
 *
 * - drop sessions not seen for the configured TTL before any method answers (no sweeper runs);
 * - keep one session per id, the newest `seenAt` winning;
 * - let any number of readers read: the dashboard, host code holding `SESSION_STORE`, health
 *   checks. Reading never changes what another reader is answered;
 * - hand out maps the caller will not change; they may be live (kept up to date afterwards);
 * - fail with {@link StoreUnavailableError} when its backend cannot answer (the route gives 503).
 *
 * `changedIpsSince` is optional: without it, the dashboard compares every IP per change, slower at
 * hundreds of thousands of IPs but exact.
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
  /**
   * The IPs whose count changed after `position`, a `changePosition` of an earlier `aggregates`
   * answer; undefined when the store no longer knows (the reader then
   * compares every IP). Asking consumes nothing: every reader gets the same answer.
   */
  changedIpsSince?(position: number): ReadonlySet<string> | undefined;
}
