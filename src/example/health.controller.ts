import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { StatsHealthIndicator } from '../stats';

/** `GET /health`: the host's own health route, including the StatsModule's indicator. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly stats: StatsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.stats.isHealthy('stats')]);
  }
}
