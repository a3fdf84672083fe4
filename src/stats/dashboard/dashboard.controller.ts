import { Controller, Get, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { StatsAuthGuard } from '../auth/stats-auth.guard';
import { StatsExceptionFilter } from '../errors/stats-exception.filter';
import { AcceptGuard, negotiatedMediaType } from './accept.guard';
import { ClientVersionSupport, DashboardSessionsDto, StatsErrorDto } from './dashboard.dto';
import { ApiDashboardRoute } from './dashboard.openapi';
import { DashboardService } from './dashboard.service';
import { PacedBodyWriter } from './paced-body.writer';

/** One per process: the budget is per turn of the one event loop, whatever the number of modules. */
const bodyWriter = new PacedBodyWriter();

/**
 * `GET /stats/active-sessions/dashboard`. Guards run in the documented order (401, 403, then 406);
 * the filter gives every error the `{ id, message }` body, on this controller only.
 */
@Controller('stats/active-sessions')
@UseGuards(StatsAuthGuard, AcceptGuard)
@UseFilters(StatsExceptionFilter)
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get('dashboard')
  @ApiDashboardRoute({ dashboard: DashboardSessionsDto, versionSupport: ClientVersionSupport, error: StatsErrorDto })
  async getDashboard(@Req() request: Request, @Res() response: Response): Promise<void> {
    const body = await this.dashboard.getDashboardBody();
    // The cached bytes go out as they are, paced: res.json would serialise again and hash them for an ETag.
    response.status(200);
    response.setHeader('Content-Type', `${negotiatedMediaType(request)}; charset=utf-8`);
    response.setHeader('Content-Length', body.length);
    response.setHeader('Cache-Control', 'no-store'); // the body lists client IP addresses
    response.setHeader('Vary', 'Accept, Authorization');
    bodyWriter.send(response, body);
  }
}
