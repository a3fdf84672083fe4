import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConfigService } from '@nestjs/config';
import type { StatsModuleOptions } from '../stats';

/** Set when the example runs in development without a key: main.ts prints a token signed with it. */
export let developmentSecret: string | undefined;

/** StatsModule options from the environment variables documented in .env.example. */
export function statsOptionsFromEnv(config: ConfigService): StatsModuleOptions {
  const list = (name: string) =>
    config
      .get<string>(name)
      ?.split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const publicKeyFile = config.get<string>('STATS_JWT_PUBLIC_KEY_FILE');
  let secret = config.get<string>('STATS_JWT_SECRET');
  const publicKey = publicKeyFile ? readFileSync(publicKeyFile, 'utf8') : config.get<string>('STATS_JWT_PUBLIC_KEY');
  const jwksUri = config.get<string>('STATS_JWKS_URI');

  if (!secret && !publicKey && !jwksUri) {
    if (config.get<string>('NODE_ENV') === 'production') {
      throw new Error(
        'StatsModule needs a key in production: set STATS_JWT_SECRET, STATS_JWT_PUBLIC_KEY(_FILE) or STATS_JWKS_URI',
      );
    }
    developmentSecret = randomBytes(32).toString('base64url');
    secret = developmentSecret;
  }

  const audience = list('STATS_JWT_AUDIENCE');
  const ttl = config.get<string>('STATS_SESSION_TTL_SECONDS');
  const redisUrl = config.get<string>('REDIS_URL');
  return {
    auth: {
      secret: secret || undefined,
      publicKey: publicKey || undefined,
      jwksUri: jwksUri || undefined,
      issuer: config.get<string>('STATS_JWT_ISSUER') || undefined,
      audience: audience && audience.length > 0 ? audience : undefined,
      rolesClaim: config.get<string>('STATS_ROLES_CLAIM') || undefined,
      requiredRoles: list('STATS_REQUIRED_ROLES'),
    },
    sessions: {
      ttlSeconds: ttl ? Number(ttl) : undefined,
      redis: redisUrl ? { url: redisUrl, keyPrefix: config.get<string>('STATS_REDIS_KEY_PREFIX') || undefined } : undefined,
    },
    versionPolicy: {
      full: config.get<string>('STATS_VERSION_FULL') ?? '>=6.0.0',
      partial: config.get<string>('STATS_VERSION_PARTIAL') ?? '>=5.5.0 <6.0.0',
    },
    acceptedMediaTypes: list('STATS_ACCEPTED_MEDIA_TYPES'),
  };
}
