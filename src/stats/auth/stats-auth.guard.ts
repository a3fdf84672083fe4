import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InsufficientPermissionsError } from '../errors/insufficient-permissions.error';
import { KeySetUnavailableError } from '../errors/key-set-unavailable.error';
import { TokenError } from '../errors/token.error';
import { REQUIRED_ROLES_METADATA, STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.validation';
import { readBearerToken, type HeaderSource } from './bearer-token.extractor';
import { unacceptableTokenReason } from './jwt-claims';
import { rolesHeld } from './roles';
import { StatsJwtStrategy } from './stats-jwt.strategy';
import { VerifiedTokenCache } from './verified-token.cache';

/** What the guard reads of a request, on Express and on Fastify alike. */
interface GuardedRequest extends HeaderSource {
  method: string;
  url: string;
  /** Express only; Fastify has the path in `url` alone. */
  path?: string;
  user?: Record<string, unknown>;
}

/**
 * Admits a request only with a valid bearer JWT (else 401) holding every required role (else 403):
 * `auth.requiredRoles`, or those given with {@link RequireRoles}. The reason of a refusal is logged,
 * never sent. Hosts can put it on their own routes; each module's guard verifies with that
 * module's own key, issuer, audience and algorithms.
 */
@Injectable()
export class StatsAuthGuard implements CanActivate {
  private readonly logger = new Logger('StatsModule');
  private readonly verifiedTokens: VerifiedTokenCache;

  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: StatsJwtStrategy,
    @Inject(STATS_RESOLVED_OPTIONS) private readonly statsOptions: ResolvedStatsOptions,
  ) {
    this.verifiedTokens = new VerifiedTokenCache(statsOptions.auth.clockToleranceSeconds * 1000);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    request.user = await this.verifiedClaims(request);
    const required =
      this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_ROLES_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) ?? this.statsOptions.auth.requiredRoles;
    const held = rolesHeld(request.user, this.statsOptions.auth.rolesClaim);
    const missing = required.filter((role) => !held.has(role));
    if (missing.length > 0) {
      this.logger.warn(
        `Refused ${describeRequest(request)}: token of subject ${clip(JSON.stringify(request.user?.sub ?? null))} ` +
          `lacks role(s) ${missing.join(', ')} under claim "${this.statsOptions.auth.rolesClaim}"`,
      );
      throw new InsufficientPermissionsError();
    }
    return true;
  }

  /** The claims of the request's token, verified now or recently; throws TokenError (401) otherwise. */
  private async verifiedClaims(request: GuardedRequest): Promise<Record<string, unknown>> {
    const bearer = readBearerToken(request);
    if (bearer.token === null) this.refuse(request, bearer.reason, bearer.presented);
    const token = bearer.token;
    const now = Date.now();
    const keyVersion = this.strategy.keyVersion();
    const cached = this.verifiedTokens.get(token, now, keyVersion);
    if (cached) return cached;
    const unacceptable = unacceptableTokenReason(token);
    if (unacceptable) this.refuse(request, unacceptable, true);
    let claims: Record<string, unknown>;
    try {
      claims = await this.strategy.verify(request, token);
    } catch (error) {
      // The keys could not be fetched: a server-side outage (503, logged by the filter), not a bad token.
      if (error instanceof KeySetUnavailableError) throw error;
      this.refuse(request, describe(error), true);
    }
    this.verifiedTokens.remember(token, claims, now, keyVersion);
    return { ...claims };
  }

  private refuse(request: GuardedRequest, reason: string, tokenPresented: boolean): never {
    this.logger.warn(`Refused ${describeRequest(request)}: ${clip(reason)}`);
    throw new TokenError(tokenPresented);
  }
}

/** `GET /path` for the log, without the query string (it may carry anything). */
function describeRequest(request: GuardedRequest): string {
  return `${request.method} ${request.path ?? request.url.split('?', 1)[0]}`;
}

/** Claims and parser messages can be as long as the token; the log gets their start. */
function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function describe(problem: unknown): string {
  if (problem instanceof Error) return `${problem.name}: ${problem.message}`;
  return problem === undefined || problem === null ? 'the token did not verify' : String(problem);
}
