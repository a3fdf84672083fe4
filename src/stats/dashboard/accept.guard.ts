import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import Negotiator from 'negotiator';
import { NotAcceptableError } from '../errors/not-acceptable.error';
import { STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.resolver';

const NEGOTIATED = Symbol('stats:negotiated-media-type');

/**
 * Answers 406 unless the `Accept` header admits `application/json` or one of
 * `acceptedMediaTypes`, q-values honoured, with the negotiator Express itself uses. Runs after
 * {@link StatsAuthGuard}, so an anonymous caller learns nothing from a 406.
 */
@Injectable()
export class AcceptGuard implements CanActivate {
  constructor(@Inject(STATS_RESOLVED_OPTIONS) private readonly options: ResolvedStatsOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request & { [NEGOTIATED]?: string }>();
    const mediaType = new Negotiator(request).mediaType(this.options.acceptedMediaTypes);
    if (!mediaType) throw new NotAcceptableError();
    request[NEGOTIATED] = mediaType;
    return true;
  }
}

/** The media type AcceptGuard chose for this request. */
export function negotiatedMediaType(request: object): string {
  return (request as { [NEGOTIATED]?: string })[NEGOTIATED] ?? 'application/json';
}
