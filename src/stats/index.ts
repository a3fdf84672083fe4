export { StatsModule } from './stats.module';
export type {
  StatsModuleOptions,
  StatsModuleAsyncOptions,
  StatsOptionsFactory,
  StatsAuthOptions,
  StatsSessionsOptions,
  StatsRedisOptions,
  StatsVersionPolicyOptions,
  StatsTrackingOptions,
} from './stats-options.interface';
export { SESSION_STORE, STATS_RESOLVED_OPTIONS } from './stats.constants';
export { resolveStatsOptions, type ResolvedStatsOptions } from './stats-options.validation';
export { StatsAuthGuard } from './auth/stats-auth.guard';
export { RequireRoles } from './auth/require-roles.decorator';
export { DashboardService } from './dashboard/dashboard.service';
export { DashboardSessionsDto, SessionGeoData, ClientVersionSupport, StatsErrorDto } from './dashboard/dashboard.dto';
export { SessionsService } from './sessions/sessions.service';
export { SessionTrackingInterceptor } from './sessions/session-tracking.interceptor';
export { MemorySessionStore } from './sessions/memory-session.store';
export { RedisSessionStore, type RedisSessionStoreOptions } from './sessions/redis/redis-session.store';
export type { SessionStore, StoredSession, SessionAggregates } from './sessions/session-store.interface';
export type { ActiveSession, SessionSource, TouchSessionInput } from './sessions/session.types';
export { GeoService, type GeoLocation } from './geo/geo.service';
export { VersionPolicyService, type SupportStatus } from './versions/version-policy.service';
export { StatsHealthIndicator } from './health/stats.health';
export * from './errors';
