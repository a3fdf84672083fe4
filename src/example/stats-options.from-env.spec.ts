import { ConfigService } from '@nestjs/config';
import { resolveStatsOptions } from '../stats/stats-options.resolver';
import { statsOptionsFromEnv } from './stats-options.from-env';
import * as example from './stats-options.from-env';

describe('statsOptionsFromEnv (example host)', () => {
  const config = (env: Record<string, string>) => new ConfigService(env);

  it('refuses to start in production without a key, naming the variables', () => {
    expect(() => statsOptionsFromEnv(config({ NODE_ENV: 'production' }))).toThrow(
      /STATS_JWT_SECRET, STATS_JWT_PUBLIC_KEY\(_FILE\) or STATS_JWKS_URI/,
    );
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
