import type { ServerResponse } from 'node:http';
import { Controller, Get, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { StatsAuthGuard } from '../auth/stats-auth.guard';
import { StatsExceptionFilter } from '../errors/stats-exception.filter';
import { HttpPlatformHost } from '../http/http-platform.host';
import { AcceptGuard, negotiatedMediaType } from './accept.guard';
import { ClientVersionSupport, DashboardSessionsDto, StatsErrorDto } from './dashboard.dto';
import { ApiDashboardRoute } from './dashboard.openapi';
import { DashboardService } from './dashboard.service';
import { PacedBodyWriter } from './paced-body.writer';

/** One per process: the budget is per turn of the one event loop, whatever the number of modules. */
const bodyWriter = new PacedBodyWriter();

/** What the response varies by, besides what the host's own handlers made it vary by. */
const VARY = ['Accept', 'Authorization'];

/**
 * `GET /stats/active-sessions/dashboard` (and HEAD). Guards run in the documented order (401, 403,
 * then 406); the filter gives every error the `{ id, message }` body, on this controller only.
 */
@Controller('stats/active-sessions')
@UseGuards(StatsAuthGuard, AcceptGuard)
@UseFilters(StatsExceptionFilter)
export class DashboardController {
  constructor(
    private readonly dashboard: DashboardService,
    private readonly http: HttpPlatformHost,
  ) {}

  @Get('dashboard')
  @ApiDashboardRoute({ dashboard: DashboardSessionsDto, versionSupport: ClientVersionSupport, error: StatsErrorDto })
  async getDashboard(@Req() request: object, @Res() response: object): Promise<void> {
    const body = await this.dashboard.getDashboardBody();
    // The cached bytes go out as they are, paced, on the Node response under the platform's:
    // Express's res.json or Fastify's send would serialise or join them (and Express hash them for an ETag).
    const out = this.http.platform.takeOver(response);
    out.statusCode = 200;
    out.setHeader('Content-Type', `${negotiatedMediaType(request)}; charset=utf-8`);
    out.setHeader('Content-Length', body.length);
    out.setHeader('Cache-Control', 'no-store'); // the body lists client IP addresses
    out.setHeader('Vary', varyWith(out, VARY));
    if (out.req?.method === 'HEAD')
      out.end(); // the length, no body: none of the turn's budget
    else bodyWriter.send(out, body);
  }
}

/** The response's Vary (a CORS layer's `Origin`, say) with `names` added, or `*` if it is `*`. */
function varyWith(response: ServerResponse, names: readonly string[]): string {
  const header = response.getHeader('Vary');
  const present = (Array.isArray(header) ? header.join(',') : String(header ?? ''))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (present.includes('*')) return '*';
  const lower = new Set(present.map((name) => name.toLowerCase()));
  return [...present, ...names.filter((name) => !lower.has(name.toLowerCase()))].join(', ');
}
