import { createPublicKey, KeyObject } from 'node:crypto';
import { validRange } from 'semver';
import { StatsConfigurationError } from './errors/stats-configuration.error';
import type {
  StatsAuthOptions,
  StatsModuleOptions,
  StatsRedisOptions,
  StatsSessionsOptions,
  StatsTrackingOptions,
  StatsVersionPolicyOptions,
} from './stats-options.interface';
import { refuseUnknownOptions, section } from './stats-options.names';
import { isRedisClient, notARedisClient } from './sessions/redis/redis-client';
import { DEFAULT_SHARDS } from './sessions/redis/redis-layout';
import type { SessionSource } from './sessions/session.types';
import type { SessionStore } from './sessions/session-store.interface';

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
export const EC_ALGORITHMS = ['ES256', 'ES384', 'ES512'];
const EC_ALGORITHM_BY_CURVE: Record<string, string> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};
/** Below this, an HMAC secret is brute-forceable offline from any token it signed (RFC 7518 3.2). */
const MIN_SECRET_LENGTH = 32;

export type VerificationKey =
  | { kind: 'secret'; secret: string }
  | { kind: 'publicKey'; pem: string; key: KeyObject }
  | { kind: 'jwks'; uri: string };

export interface ResolvedAuthOptions {
  key: VerificationKey;
  algorithms: string[];
  issuer?: string;
  audience?: string | string[];
  rolesClaim: string;
  requiredRoles: string[];
  clockToleranceSeconds: number;
}

export interface ResolvedSessionsOptions {
  ttlSeconds: number;
  sources: SessionSource[];
  sourceTimeoutMs: number;
  redis?: Required<Pick<StatsRedisOptions, 'keyPrefix' | 'commandTimeoutMs' | 'shards' | 'waitForReplicas'>> &
    StatsRedisOptions;
  store?: SessionStore;
}

export interface ResolvedStatsOptions {
  auth: ResolvedAuthOptions;
  sessions: ResolvedSessionsOptions;
  versionPolicy: StatsVersionPolicyOptions;
  acceptedMediaTypes: string[];
  tracking: { userProperty: string; sessionIdClaim: string; clientVersionHeader: string };
}

/** Every option of a section, as the interface declares it: the compiler keeps the two in step. */
/**
 * Checks the host's options once, at start-up, and fills in the defaults. Every problem throws a
 * {@link StatsConfigurationError} naming the option, so a misconfigured deployment never starts.
 * An unknown option, at any level, is refused with the nearest valid name: a misspelt one
 * (`sessions.ttlSecond`) would otherwise silently take the default.
 */
export function resolveStatsOptions(options: StatsModuleOptions | undefined): ResolvedStatsOptions {
  if (!isObject(options) || Array.isArray(options)) {
    fail('(root)', 'must be an object with at least "auth" and "versionPolicy"');
  }
  refuseUnknownOptions('', options);
  return {
    auth: resolveAuth(options.auth),
    sessions: resolveSessions(options.sessions),
    versionPolicy: resolveVersionPolicy(options.versionPolicy),
    acceptedMediaTypes: resolveMediaTypes(options.acceptedMediaTypes),
    tracking: resolveTracking(options.tracking),
  };
}

function resolveAuth(given: StatsModuleOptions['auth'] | undefined): ResolvedAuthOptions {
  const auth = section(
    'auth',
    given,
    'is required: give auth.secret, auth.publicKey or auth.jwksUri',
  ) as StatsAuthOptions;
  const key = resolveKey(auth);
  const keyAlgorithms = algorithmsFor(key);
  let algorithms = keyAlgorithms;
  if (auth.algorithms !== undefined) {
    if (!Array.isArray(auth.algorithms) || auth.algorithms.length === 0) {
      fail('auth.algorithms', 'must be a non-empty list of JWT algorithms');
    }
    for (const algorithm of auth.algorithms) {
      if (!keyAlgorithms.includes(algorithm)) {
        fail(
          'auth.algorithms',
          `contains "${algorithm}", which the configured ${key.kind} cannot verify; allowed: ${keyAlgorithms.join(', ')}`,
        );
      }
    }
    algorithms = [...auth.algorithms];
  }

  // Only an absent list takes the default: null (an unset variable, say) is a mistake to report.
  const requiredRoles = auth.requiredRoles === undefined ? ['stats:read'] : auth.requiredRoles;
  if (
    !Array.isArray(requiredRoles) ||
    requiredRoles.length === 0 ||
    requiredRoles.some((role) => typeof role !== 'string' || role.trim() === '')
  ) {
    fail('auth.requiredRoles', 'must be a non-empty list of non-empty role names');
  }
  const audience = auth.audience;
  if (
    audience !== undefined &&
    !(typeof audience === 'string' && audience !== '') &&
    !(Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === 'string' && a !== ''))
  ) {
    fail('auth.audience', 'must be a non-empty string or a non-empty list of strings');
  }
  const clockToleranceSeconds = auth.clockToleranceSeconds ?? 5;
  if (!Number.isFinite(clockToleranceSeconds) || clockToleranceSeconds < 0 || clockToleranceSeconds > 300) {
    fail('auth.clockToleranceSeconds', 'must be a number of seconds between 0 and 300');
  }
  return {
    key,
    algorithms,
    issuer: auth.issuer === undefined ? undefined : nonEmptyString('auth.issuer', auth.issuer),
    audience,
    rolesClaim: nonEmptyString('auth.rolesClaim', auth.rolesClaim, 'roles'),
    requiredRoles: [...requiredRoles],
    clockToleranceSeconds,
  };
}

function resolveKey(auth: StatsModuleOptions['auth']): VerificationKey {
  const given = (['secret', 'publicKey', 'jwksUri'] as const).filter(
    (name) => auth[name] !== undefined && auth[name] !== null && auth[name] !== '',
  );
  if (given.length === 0) fail('auth', 'needs key material: give auth.secret, auth.publicKey or auth.jwksUri');
  if (given.length > 1) {
    fail(`auth.${given[1]}`, `conflicts with auth.${given[0]}: give exactly one kind of key`);
  }
  if (auth.secret !== undefined && auth.secret !== '') {
    if (typeof auth.secret !== 'string' || auth.secret.length < MIN_SECRET_LENGTH) {
      fail('auth.secret', `must be a string of at least ${MIN_SECRET_LENGTH} characters`);
    }
    return { kind: 'secret', secret: auth.secret };
  }
  if (auth.publicKey !== undefined && auth.publicKey !== '') {
    // createPublicKey would derive the public half; a private key has no business in this process.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(String(auth.publicKey))) {
      fail('auth.publicKey', 'is a private key; give the public key (or certificate) only');
    }
    let key: KeyObject;
    try {
      key = createPublicKey(String(auth.publicKey));
    } catch (error) {
      fail('auth.publicKey', `is not a readable PEM public key (${(error as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss' && key.asymmetricKeyType !== 'ec') {
      fail('auth.publicKey', `is a ${key.asymmetricKeyType} key; RSA and EC keys are supported`);
    }
    return { kind: 'publicKey', pem: String(auth.publicKey), key };
  }
  let url: URL;
  try {
    url = new URL(String(auth.jwksUri));
  } catch {
    fail('auth.jwksUri', 'is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('auth.jwksUri', 'must be an http(s) URL');
  return { kind: 'jwks', uri: url.toString() };
}

/** The algorithms a key can verify. HMAC is never allowed with a public key (algorithm confusion). */
function algorithmsFor(key: VerificationKey): string[] {
  switch (key.kind) {
    case 'secret':
      return HMAC_ALGORITHMS;
    case 'jwks':
      return [...RSA_ALGORITHMS, ...EC_ALGORITHMS];
    case 'publicKey': {
      if (key.key.asymmetricKeyType === 'ec') {
        const curve = key.key.asymmetricKeyDetails?.namedCurve ?? '';
        const algorithm = EC_ALGORITHM_BY_CURVE[curve];
        if (!algorithm) fail('auth.publicKey', `uses the curve "${curve}", which JWT does not define`);
        return [algorithm];
      }
      return key.key.asymmetricKeyType === 'rsa-pss'
        ? RSA_ALGORITHMS.filter((a) => a.startsWith('PS'))
        : RSA_ALGORITHMS;
    }
  }
}

function resolveSessions(given: StatsModuleOptions['sessions']): ResolvedSessionsOptions {
  const sessions = given === undefined ? undefined : (section('sessions', given) as StatsSessionsOptions);
  const ttlSeconds = sessions?.ttlSeconds ?? 300;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 86_400 * 30) {
    fail('sessions.ttlSeconds', 'must be a whole number of seconds between 1 and 2592000');
  }
  const sourceTimeoutMs = sessions?.sourceTimeoutMs ?? 10_000;
  if (!Number.isFinite(sourceTimeoutMs) || sourceTimeoutMs <= 0) {
    fail('sessions.sourceTimeoutMs', 'must be a positive number of milliseconds');
  }
  const sources = sessions?.sources ?? [];
  if (!Array.isArray(sources)) fail('sessions.sources', 'must be a list of SessionSource objects');
  sources.forEach((source, index) => {
    if (!isObject(source) || typeof source.listActiveSessions !== 'function') {
      fail(`sessions.sources[${index}]`, 'must have a listActiveSessions() method');
    }
  });
  const store = sessions?.store;
  if (store !== undefined && (!isObject(store) || typeof (store as SessionStore).upsert !== 'function')) {
    fail('sessions.store', 'must implement the SessionStore interface');
  }
  return { ttlSeconds, sourceTimeoutMs, sources: [...sources], redis: resolveRedis(sessions?.redis), store };
}

function resolveRedis(given: StatsRedisOptions | undefined): ResolvedSessionsOptions['redis'] {
  if (given === undefined) return undefined;
  const redis = section('sessions.redis', given, 'must be an object with "url" or "client"') as StatsRedisOptions;
  if ((redis.url === undefined || redis.url === '') === (redis.client === undefined)) {
    fail('sessions.redis', 'needs exactly one of sessions.redis.url and sessions.redis.client');
  }
  if (redis.client !== undefined && !isRedisClient(redis.client)) {
    fail('sessions.redis.client', notARedisClient(redis.client));
  }
  if (redis.url !== undefined && redis.url !== '') {
    let url: URL | undefined;
    try {
      url = new URL(redis.url);
    } catch {
      url = undefined;
    }
    if (!url || !['redis:', 'rediss:'].includes(url.protocol)) {
      fail('sessions.redis.url', 'must be a redis:// or rediss:// URL');
    }
  }
  const commandTimeoutMs = redis.commandTimeoutMs ?? 2000;
  if (!Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0) {
    fail('sessions.redis.commandTimeoutMs', 'must be a positive number of milliseconds');
  }
  const shards = redis.shards ?? DEFAULT_SHARDS;
  if (!Number.isInteger(shards) || shards < 1 || shards > 1024) {
    fail('sessions.redis.shards', `must be a whole number from 1 to 1024 (got ${JSON.stringify(shards)})`);
  }
  const waitForReplicas = redis.waitForReplicas ?? 0;
  if (!Number.isInteger(waitForReplicas) || waitForReplicas < 0 || waitForReplicas > 16) {
    fail(
      'sessions.redis.waitForReplicas',
      `must be a whole number from 0 to 16 (got ${JSON.stringify(waitForReplicas)})`,
    );
  }
  return { ...redis, keyPrefix: resolveKeyPrefix(redis.keyPrefix), commandTimeoutMs, shards, waitForReplicas };
}

/**
 * The prefix exactly as given: the store's keys are `<keyPrefix>{<shard tag>}:...`, so distinct
 * prefixes never share a key. Braces are refused because they would: `app:` and `app:{s0-1}:` could
 * name the same keys, and a hash tag of the host's own would put every shard in one cluster slot.
 */
export function resolveKeyPrefix(keyPrefix: unknown): string {
  const option = 'sessions.redis.keyPrefix';
  if (keyPrefix === undefined) return 'stats:sessions:';
  if (typeof keyPrefix !== 'string' || keyPrefix.trim() === '') fail(option, 'must be a non-empty string');
  if (/[{}]/.test(keyPrefix)) {
    fail(
      option,
      `must not contain "{" or "}" (got ${JSON.stringify(keyPrefix)}): the module puts its keys under ` +
        '<keyPrefix>{<shard tag>}:, Redis Cluster hash tags of its own, so a prefix with braces could name the keys of another prefix',
    );
  }
  if (keyPrefix.trim() !== keyPrefix) {
    fail(option, `must not begin or end with whitespace (got ${JSON.stringify(keyPrefix)})`);
  }
  return keyPrefix;
}

function resolveVersionPolicy(given: StatsVersionPolicyOptions | undefined): StatsVersionPolicyOptions {
  const policy = section(
    'versionPolicy',
    given,
    'is required: give versionPolicy.full and versionPolicy.partial',
  ) as StatsVersionPolicyOptions;
  for (const name of ['full', 'partial'] as const) {
    const range = policy[name];
    if (typeof range !== 'string' || range.trim() === '' || validRange(range) === null) {
      fail(`versionPolicy.${name}`, `must be a semver range such as ">=6.0.0" (got ${JSON.stringify(range)})`);
    }
  }
  return { full: policy.full.trim(), partial: policy.partial.trim() };
}

function resolveTracking(given: StatsTrackingOptions | undefined): ResolvedStatsOptions['tracking'] {
  const tracking = given === undefined ? {} : (section('tracking', given) as StatsTrackingOptions);
  return {
    userProperty: nonEmptyString('tracking.userProperty', tracking.userProperty, 'user'),
    sessionIdClaim: nonEmptyString('tracking.sessionIdClaim', tracking.sessionIdClaim, 'sid'),
    clientVersionHeader: nonEmptyString(
      'tracking.clientVersionHeader',
      tracking.clientVersionHeader,
      'X-Client-Version',
    ).toLowerCase(),
  };
}

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

function resolveMediaTypes(types: string[] | undefined): string[] {
  const accepted = types ?? [];
  if (!Array.isArray(accepted) || accepted.some((type) => typeof type !== 'string' || !MEDIA_TYPE.test(type))) {
    fail('acceptedMediaTypes', 'must be a list of media types such as "application/vnd.example.stats-v1+json"');
  }
  return ['application/json', ...accepted.map((type) => type.toLowerCase())];
}

function nonEmptyString(option: string, value: unknown, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') fail(option, 'must be a non-empty string');
  return value.trim();
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null;
}

function fail(option: string, problem: string): never {
  throw new StatsConfigurationError(option, problem);
}
