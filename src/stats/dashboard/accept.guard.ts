import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import Negotiator from 'negotiator';
import { NotAcceptableError } from '../errors/not-acceptable.error';
import { HttpPlatformHost } from '../http/http-platform.host';
import { STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.validation';
import { rememberMediaType } from './negotiated-media-type.decorator';

/** What the guard reads of a request, the same on Express and Fastify. */
interface IncomingRequest {
  method: string;
  headers: IncomingHttpHeaders;
}

/** The body is always UTF-8, so an Accept that asks for `charset=utf-8` is satisfied. */
const CHARSET = ';charset=utf-8';

/**
 * Answers 406 unless the `Accept` header admits `application/json` or one of
 * `acceptedMediaTypes`, q-values honoured (`q=0` excludes), with the negotiator Express itself
 * uses. No Accept header, or an empty one, admits anything. Runs after {@link StatsAuthGuard}, so
 * an anonymous caller learns nothing from a 406.
 */
@Injectable()
export class AcceptGuard implements CanActivate {
  private readonly logger = new Logger('StatsModule');
  private readonly offered: string[];

  constructor(
    @Inject(STATS_RESOLVED_OPTIONS) private readonly options: ResolvedStatsOptions,
    private readonly http: HttpPlatformHost,
  ) {
    this.offered = options.acceptedMediaTypes.map((type) => type + CHARSET);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<IncomingRequest>();
    const mediaType = this.negotiate(request.headers.accept);
    if (!mediaType) {
      const accept = JSON.stringify(String(request.headers.accept)).slice(0, 200);
      this.logger.warn(
        `Refused ${request.method} ${this.http.platform.requestPath(request)}: Accept ${accept} admits none of ${this.options.acceptedMediaTypes.join(', ')}`,
      );
      throw new NotAcceptableError();
    }
    rememberMediaType(request, mediaType); // for the handler's @NegotiatedMediaType()
    return true;
  }

  /** The media type to answer `accept` with (without parameters), or null when there is none. */
  negotiate(accept: string | string[] | undefined): string | null {
    const header = Array.isArray(accept) ? accept.join(', ') : accept;
    const headers = header === undefined || header.trim() === '' ? {} : { accept: header };
    const chosen = new Negotiator({ headers }).mediaType(this.offered);
    return chosen ? chosen.slice(0, -CHARSET.length) : null;
  }
}
