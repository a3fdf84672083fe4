import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StatsAuthGuard } from './auth/stats-auth.guard';
import { StatsJwtStrategy } from './auth/stats-jwt.strategy';
import { AcceptGuard } from './dashboard/accept.guard';
import { DashboardController } from './dashboard/dashboard.controller';
import { DashboardService } from './dashboard/dashboard.service';
import { StatsExceptionFilter } from './errors/stats-exception.filter';
import { GeoService } from './geo/geo.service';
import { HttpPlatformHost } from './http/http-platform.host';
import { StatsHealthIndicator } from './health/stats.health';
import { createSessionStore } from './sessions/session-store.factory';
import { SessionTrackingInterceptor } from './sessions/session-tracking.interceptor';
import { SessionsService } from './sessions/sessions.service';
import { SESSION_STORE, STATS_MODULE_OPTIONS, STATS_RESOLVED_OPTIONS } from './stats.constants';
import type { StatsModuleAsyncOptions, StatsModuleOptions, StatsOptionsFactory } from './stats-options.interface';
import { resolveStatsOptions } from './stats-options.resolver';
import { VersionPolicyService } from './versions/version-policy.service';

/**
 * Serves `GET /stats/active-sessions/dashboard`. Registers nothing global: no APP_GUARD,
 * APP_FILTER, pipe or interceptor, so the host's other routes behave exactly as before.
 */
@Module({})
export class StatsModule {
  static forRoot(options: StatsModuleOptions): DynamicModule {
    return StatsModule.create([{ provide: STATS_MODULE_OPTIONS, useValue: options }]);
  }

  static forRootAsync(options: StatsModuleAsyncOptions): DynamicModule {
    return StatsModule.create(asyncOptionsProviders(options), options.imports ?? []);
  }

  private static create(optionsProviders: Provider[], imports: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: StatsModule,
      imports: [...imports, TerminusModule],
      controllers: [DashboardController],
      providers: [
        ...optionsProviders,
        { provide: STATS_RESOLVED_OPTIONS, inject: [STATS_MODULE_OPTIONS], useFactory: resolveStatsOptions },
        { provide: SESSION_STORE, inject: [STATS_RESOLVED_OPTIONS], useFactory: createSessionStore },
        SessionsService,
        GeoService,
        VersionPolicyService,
        DashboardService,
        StatsJwtStrategy,
        StatsAuthGuard,
        AcceptGuard,
        StatsExceptionFilter,
        HttpPlatformHost, // refuses, at start-up, an HTTP platform the route cannot answer on
        SessionTrackingInterceptor,
        StatsHealthIndicator,
      ],
      exports: [
        STATS_RESOLVED_OPTIONS,
        SESSION_STORE,
        SessionsService,
        DashboardService,
        StatsAuthGuard,
        StatsJwtStrategy, // for StatsAuthGuard on the host's routes
        SessionTrackingInterceptor,
        StatsHealthIndicator,
      ],
    };
  }
}

function asyncOptionsProviders(options: StatsModuleAsyncOptions): Provider[] {
  if (options.useFactory) {
    return [{ provide: STATS_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }];
  }
  const factoryClass = options.useClass ?? options.useExisting;
  if (!factoryClass) {
    throw new Error('StatsModule.forRootAsync needs one of "useFactory", "useClass" or "useExisting"');
  }
  const providers: Provider[] = [
    {
      provide: STATS_MODULE_OPTIONS,
      useFactory: (factory: StatsOptionsFactory) => factory.createStatsOptions(),
      inject: [factoryClass],
    },
  ];
  if (options.useClass) providers.push({ provide: options.useClass, useClass: options.useClass });
  return providers;
}
