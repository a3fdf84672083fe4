import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConfigService } from '@nestjs/config';
import { resolveStatsOptions, StatsConfigurationError, type StatsModuleOptions } from '../stats';

/** Set when the example runs in development without a key: main.ts prints a token signed with it. */
export let developmentSecret: string | undefined;

/** The environment variable each option comes from, so that a message names what the operator sets. */
const VARIABLES: Record<string, string> = {
  'auth.secret': 'STATS_JWT_SECRET',
  'auth.publicKey': 'STATS_JWT_PUBLIC_KEY',
  'auth.jwksUri': 'STATS_JWKS_URI',
  'auth.issuer': 'STATS_JWT_ISSUER',
  'auth.audience': 'STATS_JWT_AUDIENCE',
  'auth.rolesClaim': 'STATS_ROLES_CLAIM',
  'auth.requiredRoles': 'STATS_REQUIRED_ROLES',
  'sessions.ttlSeconds': 'STATS_SESSION_TTL_SECONDS',
  'sessions.redis': 'REDIS_URL',
  'sessions.redis.url': 'REDIS_URL',
  'sessions.redis.keyPrefix': 'STATS_REDIS_KEY_PREFIX',
  'versionPolicy.full': 'STATS_VERSION_FULL',
  'versionPolicy.partial': 'STATS_VERSION_PARTIAL',
  acceptedMediaTypes: 'STATS_ACCEPTED_MEDIA_TYPES',
};

/**
 * StatsModule options from the environment variables documented in .env.example. They are checked
 * here, so that a wrong value is reported with its variable as well as its option:
 * `StatsModule option "versionPolicy.full" (environment variable STATS_VERSION_FULL) must be ...`.
 */
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
      throw new StatsConfigurationError(
        'auth',
        'needs a key in production: set STATS_JWT_SECRET, STATS_JWT_PUBLIC_KEY(_FILE) or STATS_JWKS_URI',
      );
    }
    developmentSecret = randomBytes(32).toString('base64url');
    secret = developmentSecret;
  }

  const audience = list('STATS_JWT_AUDIENCE');
  const ttl = config.get<string>('STATS_SESSION_TTL_SECONDS');
  const redisUrl = config.get<string>('REDIS_URL');
  const options: StatsModuleOptions = {
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
      redis: redisUrl
        ? { url: redisUrl, keyPrefix: config.get<string>('STATS_REDIS_KEY_PREFIX') || undefined }
        : undefined,
    },
    versionPolicy: {
      full: config.get<string>('STATS_VERSION_FULL') ?? '>=6.0.0',
      partial: config.get<string>('STATS_VERSION_PARTIAL') ?? '>=5.5.0 <6.0.0',
    },
    acceptedMediaTypes: list('STATS_ACCEPTED_MEDIA_TYPES'),
  };
  const variables = { ...VARIABLES, ...(publicKeyFile ? { 'auth.publicKey': 'STATS_JWT_PUBLIC_KEY_FILE' } : {}) };
  try {
    resolveStatsOptions(options);
  } catch (error) {
    if (!(error instanceof StatsConfigurationError)) throw error;
    throw withVariables(error, variables);
  }
  return options;
}

/** The same error, with the variable of its option and of every option its problem mentions. */
function withVariables(error: StatsConfigurationError, variables: Record<string, string>): StatsConfigurationError {
  const variable = variables[error.option];
  // Longest names first, so that sessions.redis.url is not read as sessions.redis.
  const mentioned = Object.keys(variables)
    .filter((option) => option !== error.option)
    .sort((a, b) => b.length - a.length);
  let problem = error.problem;
  for (const option of mentioned) {
    problem = problem.replace(
      new RegExp(`(^|[^\\w.])${option.replace(/\./g, '\\.')}(?![\\w.])`, 'g'),
      `$1${option} (${variables[option]})`,
    );
  }
  return new StatsConfigurationError(
    error.option,
    variable ? `(environment variable ${variable}) ${problem}` : problem,
  );
}
