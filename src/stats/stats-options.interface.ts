import type { ModuleMetadata, Type } from '@nestjs/common';
import type { SessionSource } from './sessions/session.types';
import type { SessionStore } from './sessions/session-store.interface';

/** How the bearer tokens that reach the dashboard are verified. Give exactly one kind of key. */
export interface StatsAuthOptions {
  /** Shared secret for HMAC tokens (HS256, HS384, HS512). */
  secret?: string;
  /** PEM public key (or certificate) for RS*, PS* or ES* tokens. */
  publicKey?: string;
  /** JWKS endpoint of the identity provider; keys are fetched and cached by `kid`. */
  jwksUri?: string;
  /** Expected `iss` claim. */
  issuer?: string;
  /** Expected `aud` claim: one value or any of a list. */
  audience?: string | string[];
  /** Allowed signature algorithms; defaults to those of the key kind. `none` is never allowed. */
  algorithms?: string[];
  /** Dot path of the claim holding the roles, e.g. `realm_access.roles`. Default `roles`. */
  rolesClaim?: string;
  /** Roles a token must hold, all of them. Default `['stats:read']`. */
  requiredRoles?: string[];
  /** Leeway for `exp` and `nbf`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
}

/** Connection of the shared Redis store. */
export interface StatsRedisOptions {
  /** `redis://` or `rediss://` URL. Give this or `client`. */
  url?: string;
  /** An ioredis client or cluster the host already has; the module never closes it. */
  client?: unknown;
  /** Prefix of every key the module writes. Default `stats:sessions:`. */
  keyPrefix?: string;
  /**
   * Groups of keys the sessions are spread over, each in one hash slot, so that a Redis Cluster's
   * masters share them. Default 16. Changing it starts an empty store under new keys (see README).
   */
  shards?: number;
  /**
   * Replicas that must have a touch before it counts as done (Redis WAIT), so that a failover never
   * loses an acknowledged touch. While a master has fewer replicas in sync (right after a failover),
   * its touches fail with StoreOutcomeUnknownError. Default 0: Redis's own asynchronous replication.
   */
  waitForReplicas?: number;
  /** Bound on each Redis call before the route answers 503. Default 2000 ms. */
  commandTimeoutMs?: number;
}

export interface StatsSessionsOptions {
  /** A session not seen for this long is no longer active. Default 300 (5 minutes). */
  ttlSeconds?: number;
  /** Sessions the host keeps elsewhere (its database, gateways it polls), merged by session id. */
  sources?: SessionSource[];
  /** Bound on each source's answer before the route answers 504. Default 10000 ms. */
  sourceTimeoutMs?: number;
  /** Share sessions between instances through Redis. Without it, sessions live in this process. */
  redis?: StatsRedisOptions;
  /** A custom store; takes precedence over `redis`. */
  store?: SessionStore;
}

/** Semver ranges that decide the support status of a client version. */
export interface StatsVersionPolicyOptions {
  /** Versions in this range are fully supported, e.g. `>=6.0.0`. */
  full: string;
  /** Versions in this range (and not in `full`) are partially supported, e.g. `>=5.5.0 <6.0.0`. */
  partial: string;
}

/** How {@link SessionTrackingInterceptor} recognises a session in the host's own traffic. */
export interface StatsTrackingOptions {
  /** Request property where the host's authentication put the verified token claims. Default `user`. */
  userProperty?: string;
  /** Dot path of the claim holding the session id. Default `sid`. */
  sessionIdClaim?: string;
  /** Header carrying the client version. Default `X-Client-Version`. */
  clientVersionHeader?: string;
}

export interface StatsModuleOptions {
  auth: StatsAuthOptions;
  sessions?: StatsSessionsOptions;
  versionPolicy: StatsVersionPolicyOptions;
  /** Media types accepted besides `application/json`, e.g. `application/vnd.example.stats-v1+json`. */
  acceptedMediaTypes?: string[];
  tracking?: StatsTrackingOptions;
}

export interface StatsOptionsFactory {
  createStatsOptions(): Promise<StatsModuleOptions> | StatsModuleOptions;
}

export interface StatsModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: any[];
  useFactory?: (...args: any[]) => Promise<StatsModuleOptions> | StatsModuleOptions;
  useClass?: Type<StatsOptionsFactory>;
  useExisting?: Type<StatsOptionsFactory>;
}
