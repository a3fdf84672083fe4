import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StatsAuthGuard } from './auth/stats-auth.guard';
import { nearestName } from './common/nearest-name';
import { StatsJwtStrategy } from './auth/stats-jwt.strategy';
import { AcceptGuard } from './dashboard/accept.guard';
import { DashboardBodyTransport } from './dashboard/dashboard-body.transport';
import { DashboardController } from './dashboard/dashboard.controller';
import { DashboardService } from './dashboard/dashboard.service';
import { StatsConfigurationError } from './errors/stats-configuration.error';
import { StatsExceptionFilter } from './errors/stats-exception.filter';
import { GeoService } from './geo/geo.service';
import { HttpPlatformHost } from './http/http-platform.host';
import { StatsHealthIndicator } from './health/stats.health';
import { createSessionStore } from './sessions/session-store.factory';
import { SessionTrackingInterceptor } from './sessions/session-tracking.interceptor';
import { SessionsService } from './sessions/sessions.service';
import { SESSION_STORE, STATS_MODULE_OPTIONS, STATS_RESOLVED_OPTIONS } from './stats.constants';
import type { StatsModuleAsyncOptions, StatsModuleOptions, StatsOptionsFactory } from './stats-options.interface';
import { resolveStatsOptions } from './stats-options.validation';
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
        DashboardBodyTransport,
        StatsJwtStrategy,
        StatsAuthGuard,
        AcceptGuard,
        StatsExceptionFilter,
        HttpPlatformHost, // refuses, at start-up, an HTTP platform the route cannot answer on
        SessionTrackingInterceptor,
        StatsHealthIndicator,
      ],
      exports: [
        // The guard and the interceptor on a host's routes are built in the host's module: they need it.
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

/** Every option of forRootAsync, as the interface declares it. */
const ASYNC_OPTIONS: { [K in keyof Required<StatsModuleAsyncOptions>]: true } = {
  imports: true,
  inject: true,
  useFactory: true,
  useClass: true,
  useExisting: true,
};
const FACTORY_KINDS = ['useFactory', 'useClass', 'useExisting'] as const;

/** The providers of forRootAsync's options; every mistake is a StatsConfigurationError naming it. */
function asyncOptionsProviders(options: StatsModuleAsyncOptions): Provider[] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new StatsConfigurationError(
      'forRootAsync',
      'needs an object with one of "useFactory", "useClass" or "useExisting"',
    );
  }
  const known = Object.keys(ASYNC_OPTIONS);
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const suggestion = nearestName(name, known);
    throw new StatsConfigurationError(
      `forRootAsync.${name}`,
      suggestion
        ? `is unknown; did you mean "forRootAsync.${suggestion}"?`
        : `is unknown; the options of forRootAsync are ${known.join(', ')}`,
    );
  }
  const given = FACTORY_KINDS.filter((kind) => options[kind] !== undefined);
  if (given.length === 0) {
    throw new StatsConfigurationError('forRootAsync', 'needs one of "useFactory", "useClass" or "useExisting"');
  }
  if (given.length > 1) {
    throw new StatsConfigurationError(
      `forRootAsync.${given[1]}`,
      `conflicts with forRootAsync.${given[0]}: give exactly one`,
    );
  }
  const kind = given[0];
  if (typeof options[kind] !== 'function') {
    throw new StatsConfigurationError(
      `forRootAsync.${kind}`,
      kind === 'useFactory'
        ? 'must be a function returning the options'
        : 'must be a class implementing StatsOptionsFactory',
    );
  }
  if (options.inject !== undefined && !Array.isArray(options.inject)) {
    throw new StatsConfigurationError('forRootAsync.inject', 'must be a list of the providers the factory takes');
  }
  if (options.useFactory) {
    return [{ provide: STATS_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }];
  }
  const factoryClass = (options.useClass ?? options.useExisting)!;
  const providers: Provider[] = [
    {
      provide: STATS_MODULE_OPTIONS,
      useFactory: (factory: Partial<StatsOptionsFactory> | undefined) => {
        if (typeof factory?.createStatsOptions !== 'function') {
          throw new StatsConfigurationError(
            `forRootAsync.${kind}`,
            `(${factoryClass.name}) must have a createStatsOptions() method`,
          );
        }
        return factory.createStatsOptions();
      },
      inject: [factoryClass],
    },
  ];
  if (options.useClass) providers.push({ provide: options.useClass, useClass: options.useClass });
  return providers;
}
