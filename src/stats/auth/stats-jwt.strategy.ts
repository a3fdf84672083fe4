import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import { STATS_JWT_STRATEGY, STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedAuthOptions, ResolvedStatsOptions } from '../stats-options.resolver';
import { bearerTokenFrom } from './bearer-token.extractor';
import { JwksKeyProvider } from './jwks-key-provider';

/** Verifies bearer JWTs with the configured secret, public key or JWKS (passport-jwt). */
@Injectable()
export class StatsJwtStrategy extends PassportStrategy(Strategy, STATS_JWT_STRATEGY) {
  private readonly jwks: JwksKeyProvider | null;

  constructor(@Inject(STATS_RESOLVED_OPTIONS) options: ResolvedStatsOptions) {
    const { key, algorithms } = options.auth;
    // Keys are cached by kid; an unknown kid (a rotated key) triggers a rate-limited refetch.
    const jwks = key.kind === 'jwks' ? new JwksKeyProvider({ uri: key.uri, algorithms }) : null;
    super(strategyOptions(options.auth, jwks));
    this.jwks = jwks;
  }

  /** Changes whenever the keys that verify tokens may have changed (a JWKS refetch); fixed keys never do. */
  keyVersion(): number {
    return this.jwks?.keySetVersion ?? 0;
  }

  /** The verified claims become `request.user`. */
  validate(claims: Record<string, unknown>): Record<string, unknown> {
    return claims;
  }
}

function strategyOptions(auth: ResolvedAuthOptions, jwks: JwksKeyProvider | null): StrategyOptionsWithoutRequest {
  const common = {
    jwtFromRequest: bearerTokenFrom,
    algorithms: auth.algorithms as StrategyOptionsWithoutRequest['algorithms'],
    issuer: auth.issuer,
    audience: auth.audience,
    ignoreExpiration: false,
    jsonWebTokenOptions: { clockTolerance: auth.clockToleranceSeconds },
  };
  // Keys go to jsonwebtoken as KeyObjects: given a string, it re-parses the key on every request,
  // and for a secret first fails to read it as a PEM, which costs more than the verification itself.
  switch (auth.key.kind) {
    case 'secret':
      return { ...common, secretOrKey: createSecretKey(Buffer.from(auth.key.secret, 'utf8')) as unknown as string };
    case 'publicKey':
      return { ...common, secretOrKey: auth.key.key as unknown as string };
    case 'jwks': {
      const keys = jwks!;
      const parsed = new Map<string, KeyObject>();
      const keyObject = (pem: string): KeyObject => {
        let key = parsed.get(pem);
        if (!key) {
          if (parsed.size >= 100) parsed.clear(); // key sets are small; this only bounds rotation
          key = createPublicKey(pem);
          parsed.set(pem, key);
        }
        return key;
      };
      return {
        ...common,
        secretOrKeyProvider: (_request: unknown, token: string, done: (error: unknown, key?: string) => void) => {
          keys.keyFor(token).then(
            (key) => done(null, keyObject(key) as unknown as string),
            (error: unknown) => done(error),
          );
        },
      };
    }
  }
}
