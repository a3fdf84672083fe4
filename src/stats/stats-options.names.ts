import { nearestName } from './common/nearest-name';
import { StatsConfigurationError } from './errors/stats-configuration.error';
import type {
  StatsAuthOptions,
  StatsModuleOptions,
  StatsRedisOptions,
  StatsSessionsOptions,
  StatsTrackingOptions,
  StatsVersionPolicyOptions,
} from './stats-options.interface';

/** Every option of each section, as the interfaces declare them: the compiler keeps the lists whole. */
type Names<T> = { [K in keyof Required<T>]: true };
const ROOT_OPTIONS: Names<StatsModuleOptions> = {
  auth: true,
  sessions: true,
  versionPolicy: true,
  acceptedMediaTypes: true,
  tracking: true,
};
const AUTH_OPTIONS: Names<StatsAuthOptions> = {
  secret: true,
  publicKey: true,
  jwksUri: true,
  issuer: true,
  audience: true,
  algorithms: true,
  rolesClaim: true,
  requiredRoles: true,
  clockToleranceSeconds: true,
};
const SESSIONS_OPTIONS: Names<StatsSessionsOptions> = {
  ttlSeconds: true,
  sources: true,
  sourceTimeoutMs: true,
  redis: true,
  store: true,
};
const REDIS_OPTIONS: Names<StatsRedisOptions> = {
  url: true,
  client: true,
  keyPrefix: true,
  shards: true,
  waitForReplicas: true,
  commandTimeoutMs: true,
};
const VERSION_POLICY_OPTIONS: Names<StatsVersionPolicyOptions> = { full: true, partial: true };
const TRACKING_OPTIONS: Names<StatsTrackingOptions> = {
  userProperty: true,
  sessionIdClaim: true,
  clientVersionHeader: true,
};

/**
 * The options of each section, by the section's path ('' for the root). Values inside them that
 * belong to the host (a Redis client, a store, sources) are never looked into.
 */
const SECTIONS: ReadonlyMap<string, readonly string[]> = new Map([
  ['', Object.keys(ROOT_OPTIONS)],
  ['auth', Object.keys(AUTH_OPTIONS)],
  ['sessions', Object.keys(SESSIONS_OPTIONS)],
  ['sessions.redis', Object.keys(REDIS_OPTIONS)],
  ['versionPolicy', Object.keys(VERSION_POLICY_OPTIONS)],
  ['tracking', Object.keys(TRACKING_OPTIONS)],
]);

/**
 * Refuses every key of `value` that is no option of the section at `path`, even one whose value is
 * undefined: `{ ttlSecond: config.get('TTL') }` is the same typo whether or not the variable is set.
 */
export function refuseUnknownOptions(path: string, value: object): void {
  const known = SECTIONS.get(path)!;
  for (const name of Object.keys(value)) {
    if (!known.includes(name)) fail(join(path, name), `is unknown; ${suggestionFor(path, name, known)}`);
  }
}

/** "did you mean" a close option of the same section, else an option of that name elsewhere. */
function suggestionFor(path: string, name: string, known: readonly string[]): string {
  const sibling = nearestName(name, known);
  if (sibling !== undefined) return `did you mean "${join(path, sibling)}"?`;
  // Not misspelt but misplaced, such as `keyPrefix` directly under `sessions`.
  const elsewhere = [...SECTIONS].flatMap(([section, names]) =>
    section === path ? [] : names.map((option) => join(section, option)),
  );
  const leaves = elsewhere.map((option) => option.slice(option.lastIndexOf('.') + 1));
  const leaf = nearestName(name, leaves);
  if (leaf !== undefined) return `did you mean "${elsewhere[leaves.indexOf(leaf)]}"?`;
  return `the options ${path === '' ? 'are' : `of ${path} are`} ${known.join(', ')}`;
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** A section of the options: an object (not a list) with no unknown key. */
export function section(path: string, value: unknown, problem = 'must be an object'): Record<string, any> {
  if (!isObject(value) || Array.isArray(value)) fail(path, problem);
  refuseUnknownOptions(path, value);
  return value;
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null;
}

function fail(option: string, problem: string): never {
  throw new StatsConfigurationError(option, problem);
}
