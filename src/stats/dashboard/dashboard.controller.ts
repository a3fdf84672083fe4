import { Controller, Get, Res, UseFilters, UseGuards } from '@nestjs/common';
import { StatsAuthGuard } from '../auth/stats-auth.guard';
import { StatsExceptionFilter } from '../errors/stats-exception.filter';
import { AcceptGuard } from './accept.guard';
import { DashboardBodyTransport } from './dashboard-body.transport';
import { ClientVersionSupport, DashboardSessionsDto, StatsErrorDto } from './dashboard.dto';
import { ApiDashboardRoute } from './dashboard.openapi';
import { DashboardService } from './dashboard.service';
import { NegotiatedMediaType } from './negotiated-media-type.decorator';

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
    private readonly transport: DashboardBodyTransport,
  ) {}

  @Get('dashboard')
  @ApiDashboardRoute({ dashboard: DashboardSessionsDto, versionSupport: ClientVersionSupport, error: StatsErrorDto })
  async getDashboard(@NegotiatedMediaType() mediaType: string, @Res() response: object): Promise<void> {
    this.transport.send(response, await this.dashboard.getDashboardBody(), mediaType);
  }
}
