import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { passportJwtSecret } from 'jwks-rsa';
import { Strategy, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import { STATS_JWT_STRATEGY, STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedAuthOptions, ResolvedStatsOptions } from '../stats-options.resolver';
import { bearerTokenFrom } from './bearer-token.extractor';

/** Verifies bearer JWTs with the configured secret, public key or JWKS (passport-jwt). */
@Injectable()
export class StatsJwtStrategy extends PassportStrategy(Strategy, STATS_JWT_STRATEGY) {
  constructor(@Inject(STATS_RESOLVED_OPTIONS) options: ResolvedStatsOptions) {
    super(strategyOptions(options.auth));
  }

  /** The verified claims become `request.user`. */
  validate(claims: Record<string, unknown>): Record<string, unknown> {
    return claims;
  }
}

function strategyOptions(auth: ResolvedAuthOptions): StrategyOptionsWithoutRequest {
  const common = {
    jwtFromRequest: bearerTokenFrom,
    algorithms: auth.algorithms as StrategyOptionsWithoutRequest['algorithms'],
    issuer: auth.issuer,
    audience: auth.audience,
    ignoreExpiration: false,
    jsonWebTokenOptions: { clockTolerance: auth.clockToleranceSeconds },
  };
  switch (auth.key.kind) {
    case 'secret':
      return { ...common, secretOrKey: auth.key.secret };
    case 'publicKey':
      return { ...common, secretOrKey: auth.key.pem };
    case 'jwks':
      return {
        ...common,
        // Keys are cached by kid; an unknown kid (a rotated key) triggers a rate-limited refetch.
        secretOrKeyProvider: passportJwtSecret({
          jwksUri: auth.key.uri,
          cache: true,
          cacheMaxEntries: 20,
          cacheMaxAge: 10 * 60 * 1000,
          rateLimit: true,
          jwksRequestsPerMinute: 10,
          timeout: 5000,
        }),
      };
  }
}
