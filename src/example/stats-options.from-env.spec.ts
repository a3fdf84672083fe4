import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigService } from '@nestjs/config';
import { StatsConfigurationError } from '../stats';
import { resolveStatsOptions } from '../stats/stats-options.validation';
import { statsOptionsFromEnv } from './stats-options.from-env';
import * as example from './stats-options.from-env';

describe('statsOptionsFromEnv (example host)', () => {
  const config = (env: Record<string, string>) => new ConfigService(env);

  it('refuses to start in production without a key, naming the variables', () => {
    expect(() => statsOptionsFromEnv(config({ NODE_ENV: 'production' }))).toThrow(
      /STATS_JWT_SECRET, STATS_JWT_PUBLIC_KEY\(_FILE\) or STATS_JWKS_URI/,
    );
    expect(() => statsOptionsFromEnv(config({ NODE_ENV: 'production' }))).toThrow(StatsConfigurationError);
  });

  /** The error reading `env` throws: a StatsConfigurationError naming the option. */
  function failure(env: Record<string, string>, option: string): StatsConfigurationError {
    let thrown: unknown;
    try {
      statsOptionsFromEnv(config(env));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StatsConfigurationError);
    expect((thrown as StatsConfigurationError).option).toBe(option);
    return thrown as StatsConfigurationError;
  }

  it.each([
    [
      { STATS_VERSION_FULL: 'newest' },
      'versionPolicy.full',
      'StatsModule option "versionPolicy.full" (environment variable STATS_VERSION_FULL) must be a semver range such as ">=6.0.0" (got "newest")',
    ],
    [
      { STATS_VERSION_PARTIAL: '>=5 <<6' },
      'versionPolicy.partial',
      'StatsModule option "versionPolicy.partial" (environment variable STATS_VERSION_PARTIAL) must be a semver range such as ">=6.0.0" (got ">=5 <<6")',
    ],
    [
      { STATS_SESSION_TTL_SECONDS: '5m' },
      'sessions.ttlSeconds',
      'StatsModule option "sessions.ttlSeconds" (environment variable STATS_SESSION_TTL_SECONDS) must be a whole number of seconds between 1 and 2592000',
    ],
    [
      { REDIS_URL: 'localhost:6379' },
      'sessions.redis.url',
      'StatsModule option "sessions.redis.url" (environment variable REDIS_URL) must be a redis:// or rediss:// URL',
    ],
    [
      { REDIS_URL: 'redis://localhost', STATS_REDIS_KEY_PREFIX: ' app:' },
      'sessions.redis.keyPrefix',
      'StatsModule option "sessions.redis.keyPrefix" (environment variable STATS_REDIS_KEY_PREFIX) must not begin or end with whitespace (got " app:")',
    ],
    [
      { STATS_JWT_SECRET: 'short' },
      'auth.secret',
      'StatsModule option "auth.secret" (environment variable STATS_JWT_SECRET) must be a string of at least 32 characters',
    ],
    [
      { STATS_JWT_SECRET: 's'.repeat(40), STATS_JWKS_URI: 'https://idp.example/jwks' },
      'auth.jwksUri',
      'StatsModule option "auth.jwksUri" (environment variable STATS_JWKS_URI) conflicts with auth.secret (STATS_JWT_SECRET): give exactly one kind of key',
    ],
    [
      { STATS_ACCEPTED_MEDIA_TYPES: 'json' },
      'acceptedMediaTypes',
      'StatsModule option "acceptedMediaTypes" (environment variable STATS_ACCEPTED_MEDIA_TYPES) must be a list of media types such as "application/vnd.example.stats-v1+json"',
    ],
  ])('names the environment variable as well as the option (%j)', (env, option, message) => {
    expect(failure(env, option).message).toBe(message);
  });

  it('names STATS_JWT_PUBLIC_KEY_FILE when the key came from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stats-env-'));
    try {
      const file = join(dir, 'key.pem');
      writeFileSync(file, 'not a pem');
      expect(failure({ STATS_JWT_PUBLIC_KEY_FILE: file }, 'auth.publicKey').message).toMatch(
        /^StatsModule option "auth.publicKey" \(environment variable STATS_JWT_PUBLIC_KEY_FILE\) is not a readable PEM public key/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes a temporary secret in development and yields valid options', () => {
    const options = statsOptionsFromEnv(config({}));
    expect(options.auth.secret).toBe(example.developmentSecret);
    expect(options.auth.secret).toHaveLength(43);
    expect(() => resolveStatsOptions(options)).not.toThrow();
  });

  it('reads every documented variable', () => {
    const options = statsOptionsFromEnv(
      config({
        STATS_JWT_SECRET: 's'.repeat(40),
        STATS_JWT_ISSUER: 'https://idp.example',
        STATS_JWT_AUDIENCE: 'stats, admin-ui',
        STATS_ROLES_CLAIM: 'realm_access.roles',
        STATS_REQUIRED_ROLES: 'stats:read,ops',
        STATS_SESSION_TTL_SECONDS: '120',
        REDIS_URL: 'redis://127.0.0.1:6379',
        STATS_REDIS_KEY_PREFIX: 'app:',
        STATS_VERSION_FULL: '>=7.0.0',
        STATS_VERSION_PARTIAL: '>=6.0.0',
        STATS_ACCEPTED_MEDIA_TYPES: 'application/vnd.example.stats-v1+json',
      }),
    );
    expect(options).toEqual({
      auth: {
        secret: 's'.repeat(40),
        publicKey: undefined,
        jwksUri: undefined,
        issuer: 'https://idp.example',
        audience: ['stats', 'admin-ui'],
        rolesClaim: 'realm_access.roles',
        requiredRoles: ['stats:read', 'ops'],
      },
      sessions: { ttlSeconds: 120, redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'app:' } },
      versionPolicy: { full: '>=7.0.0', partial: '>=6.0.0' },
      acceptedMediaTypes: ['application/vnd.example.stats-v1+json'],
    });
  });
});
