import { Inject, Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard, type IAuthModuleOptions } from '@nestjs/passport';
import { InsufficientPermissionsError } from '../errors/insufficient-permissions.error';
import { KeySetUnavailableError } from '../errors/key-set-unavailable.error';
import { TokenError } from '../errors/token.error';
import { REQUIRED_ROLES_METADATA, STATS_JWT_STRATEGY, STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.resolver';
import { bearerTokenFrom, bearerTokenPresented, missingTokenReason } from './bearer-token.extractor';
import { rolesHeld } from './roles';
import { StatsJwtStrategy } from './stats-jwt.strategy';
import { VerifiedTokenCache } from './verified-token.cache';

/**
 * Admits a request only with a valid bearer JWT (else 401) holding every required role (else 403):
 * `auth.requiredRoles`, or those given with {@link RequireRoles}. The reason of a refusal is logged,
 * never sent. Hosts can put it on their own routes.
 */
@Injectable()
export class StatsAuthGuard extends AuthGuard(STATS_JWT_STRATEGY) {
  private readonly logger = new Logger('StatsModule');
  private readonly verifiedTokens: VerifiedTokenCache;

  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: StatsJwtStrategy,
    @Inject(STATS_RESOLVED_OPTIONS) private readonly statsOptions: ResolvedStatsOptions,
  ) {
    super();
    this.verifiedTokens = new VerifiedTokenCache(statsOptions.auth.clockToleranceSeconds * 1000);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest();
    const token = bearerTokenFrom(request);
    const now = Date.now();
    const keyVersion = this.strategy.keyVersion();
    const claims = token === null ? undefined : this.verifiedTokens.get(token, now, keyVersion);
    if (claims) {
      request.user = claims;
    } else {
      await super.canActivate(context); // throws TokenError through handleRequest
      if (token !== null) this.verifiedTokens.remember(token, request.user, now, keyVersion);
    }
    const required =
      this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_ROLES_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) ?? this.statsOptions.auth.requiredRoles;
    const held = rolesHeld(request.user, this.statsOptions.auth.rolesClaim);
    const missing = required.filter((role) => !held.has(role));
    if (missing.length > 0) {
      this.logger.warn(
        `Refused ${request.method} ${request.path}: token of subject ${clip(JSON.stringify(request.user?.sub ?? null))} ` +
          `lacks role(s) ${missing.join(', ')} under claim "${this.statsOptions.auth.rolesClaim}"`,
      );
      throw new InsufficientPermissionsError();
    }
    return true;
  }

  /** Stateless whatever the host's PassportModule defaults are: no session, claims on `request.user`. */
  override getAuthenticateOptions(): IAuthModuleOptions {
    return { session: false, property: 'user' };
  }

  override handleRequest<TUser>(error: unknown, user: TUser, info: unknown, context: ExecutionContext): TUser {
    if (error || !user) {
      const request = context.switchToHttp().getRequest();
      // The keys could not be fetched: a server-side outage (503, logged by the filter), not a bad token.
      if (info instanceof KeySetUnavailableError) throw info;
      if (error instanceof KeySetUnavailableError) throw error;
      const reason = missingTokenReason(request) ?? describe(error ?? info) ?? 'the token did not verify';
      this.logger.warn(`Refused ${request.method} ${request.path}: ${clip(reason)}`);
      throw new TokenError(bearerTokenPresented(request));
    }
    return user;
  }
}

/** Claims and parser messages can be as long as the token; the log gets their start. */
function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function describe(problem: unknown): string | undefined {
  if (problem instanceof Error) return `${problem.name}: ${problem.message}`;
  return problem === undefined || problem === null ? undefined : String(problem);
}
