import { createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Passport } from 'passport';
import { Strategy, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import { STATS_JWT_STRATEGY, STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedAuthOptions, ResolvedStatsOptions } from '../stats-options.validation';
import { JwksKeyProvider } from './jwks-key-provider';

/** The passport registry of each strategy; see `getPassportInstance`. */
type Registry = InstanceType<typeof Passport>;
const registries = new WeakMap<object, Registry>();
/** The token each request is being verified with, read once by the guard. */
const tokensBeingVerified = new WeakMap<object, string>();

/**
 * Verifies bearer JWTs with the configured secret, public key or JWKS (passport-jwt). Each module
 * has its own, registered in a passport registry of its own: passport's global registry is one per
 * process, where the last module started would decide the key of every other one, and a host's own
 * `jwt` strategy would be at risk.
 */
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

  /** Called by PassportStrategy while it registers this strategy: the registry of this instance. */
  getPassportInstance(): Registry {
    let registry = registries.get(this);
    if (!registry) {
      registry = new Passport();
      registries.set(this, registry);
    }
    return registry;
  }

  /**
   * The verified claims of `token`, the request's bearer token. Rejects with the reason the token
   * does not verify, or with KeySetUnavailableError when the JWKS cannot be fetched.
   */
  verify(request: object, token: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      tokensBeingVerified.set(request, token);
      const settle = (error: unknown, claims?: unknown, info?: unknown) => {
        tokensBeingVerified.delete(request);
        if (error) reject(error);
        else if (!claims) reject(info ?? new Error('the token did not verify'));
        else resolve(claims as Record<string, unknown>);
      };
      try {
        const authenticate = this.getPassportInstance().authenticate(STATS_JWT_STRATEGY, { session: false }, settle);
        authenticate(request, {}, (error?: unknown) => settle(error ?? new Error('the token did not verify')));
      } catch (error) {
        settle(error);
      }
    });
  }

  /** The verified claims (a JSON object, checked before verification) become `request.user`. */
  validate(claims: Record<string, unknown>): Record<string, unknown> {
    return claims;
  }
}

function strategyOptions(auth: ResolvedAuthOptions, jwks: JwksKeyProvider | null): StrategyOptionsWithoutRequest {
  const common = {
    jwtFromRequest: (request: object) => tokensBeingVerified.get(request) ?? null,
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
      return {
        ...common,
        secretOrKeyProvider: (_request: unknown, token: string, done: (error: unknown, key?: string) => void) => {
          keys.keyFor(token).then(
            (key) => done(null, key as unknown as string),
            (error: unknown) => done(error),
          );
        },
      };
    }
  }
}
