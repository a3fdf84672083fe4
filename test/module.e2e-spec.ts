import {
  Controller,
  Get,
  Injectable,
  Module,
  NotFoundException,
  UseGuards,
  UseInterceptors,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  ClientVersionSupport,
  DashboardService,
  DashboardSessionsDto,
  SessionGeoData,
  SESSION_STORE,
  SessionsService,
  SessionTrackingInterceptor,
  StatsConfigurationError,
  type SessionStore,
  StatsModule,
  UnsupportedPlatformError,
} from '../src/stats';
import { startHttpApp, type HttpAppOptions } from './support/http-platform';
import { DASHBOARD, DEFAULT_OPTIONS } from './support/stats-app';
import { bearer, TEST_SECRET } from './support/tokens';

/** Stands for the host's own authentication: puts verified claims on request.user. */
@Injectable()
class HostAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest();
    const sid = request.headers['x-test-sid'];
    if (sid) request.user = { sub: 'user-1', sid };
    return true;
  }
}

@Controller('orders')
class HostOrdersController {
  @Get()
  list() {
    return [{ id: 1 }];
  }

  @Get('missing')
  missing() {
    throw new NotFoundException('No such order');
  }

  @Get('boom')
  boom() {
    throw new Error('host failure');
  }
}

@Controller('api')
@UseGuards(HostAuthGuard)
@UseInterceptors(SessionTrackingInterceptor)
class HostApiController {
  @Get('ping')
  ping() {
    return { pong: true };
  }
}

@Module({
  imports: [StatsModule.forRoot(DEFAULT_OPTIONS)],
  controllers: [HostOrdersController, HostApiController],
  providers: [HostAuthGuard],
})
class HostModule {}

/** A host whose authentication puts the claims on `request.auth`, the session id nested. */
@Injectable()
class HostAuthOnOtherProperty implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest();
    const sid = request.headers['x-test-sid'];
    if (sid) request.auth = { sub: 'user-1', session: { id: sid }, sid: 'not-this-one' };
    return true;
  }
}

@Controller('api')
@UseGuards(HostAuthOnOtherProperty)
@UseInterceptors(SessionTrackingInterceptor)
class HostApiOnOtherPropertyController {
  @Get('ping')
  ping() {
    return { pong: true };
  }
}

@Module({
  imports: [
    StatsModule.forRoot({
      ...DEFAULT_OPTIONS,
      tracking: { userProperty: 'auth', sessionIdClaim: 'session.id', clientVersionHeader: 'X-App-Build' },
    }),
  ],
  controllers: [HostApiOnOtherPropertyController],
  providers: [HostAuthOnOtherProperty],
})
class HostModuleWithOwnTracking {}

describe('StatsModule in a host application', () => {
  let app: INestApplication;

  afterEach(async () => {
    await app?.close();
  });

  async function boot(module: unknown, options: HttpAppOptions = {}) {
    const moduleRef = await Test.createTestingModule({ imports: [module as never] }).compile();
    app = await startHttpApp(moduleRef, { logger: false, ...options });
    return app;
  }

  it("leaves the host's other routes as they were: no global guard, filter, pipe or interceptor", async () => {
    await boot(HostModule);
    const server = app.getHttpServer();
    await request(server)
      .get('/orders')
      .expect(200, [{ id: 1 }]);
    // Nest's own error format, not the module's { id, message }.
    await request(server)
      .get('/orders/missing')
      .expect(404, { message: 'No such order', error: 'Not Found', statusCode: 404 });
    await request(server).get('/orders/boom').expect(500, { statusCode: 500, message: 'Internal server error' });
    await request(server).get('/orders').set('Accept', 'text/html').expect(200);
  });

  it("records sessions from the host's authenticated traffic: id claim, client IP through trust proxy, version header", async () => {
    await boot(HostModule, { trustProxy: 1 });
    const server = app.getHttpServer();
    await request(server)
      .get('/api/ping')
      .set('X-Test-Sid', 'session-42')
      .set('X-Forwarded-For', '85.228.0.1')
      .set('X-Client-Version', '6.1.2-32120-release')
      .expect(200, { pong: true });
    await request(server).get('/api/ping').expect(200); // anonymous: no session
    await new Promise((resolve) => setImmediate(resolve));
    const { body } = await request(server).get(DASHBOARD).set('Authorization', bearer()).expect(200);
    expect(body.totalCount).toBe(1);
    expect(body.geoIpData).toEqual([expect.objectContaining({ countryCode: 'SE', ips: ['85.228.0.1'] })]);
    expect(body.versions).toEqual({ '6.1.2-32120-release': { supportStatus: 'full', sessionCount: 1 } });
  });

  it('records sessions by the tracking options: another request property, a nested id claim, another version header', async () => {
    await boot(HostModuleWithOwnTracking);
    const server = app.getHttpServer();
    const store = app.get<SessionStore>(SESSION_STORE);
    const recorded = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return store.find(['nested-7', 'not-this-one'], Date.now());
    };
    await request(server).get('/api/ping').set('X-Test-Sid', 'nested-7').set('X-App-Build', '6.2.0').expect(200);
    const first = await recorded();
    // The session is "nested-7", not the top-level sid claim, with the configured header's version.
    expect([...first.keys()]).toEqual(['nested-7']);
    expect(first.get('nested-7')!.clientVersion).toBe('6.2.0');
    await request(server).get('/api/ping').set('X-Test-Sid', 'nested-7').set('X-Client-Version', '1.0.0').expect(200);
    expect((await recorded()).get('nested-7')!.clientVersion).toBe('unknown'); // the default header is not read
    const { body } = await request(server).get(DASHBOARD).set('Authorization', bearer()).expect(200);
    expect(body.totalCount).toBe(1);
  });

  it('ignores X-Forwarded-For unless the host trusts its proxy', async () => {
    await boot(HostModule);
    const server = app.getHttpServer();
    await request(server).get('/api/ping').set('X-Test-Sid', 's').set('X-Forwarded-For', '85.228.0.1').expect(200);
    await new Promise((resolve) => setImmediate(resolve));
    const { body } = await request(server).get(DASHBOARD).set('Authorization', bearer()).expect(200);
    expect(body.totalCount).toBe(1);
    expect(body.geoIpData).toEqual([]); // the loopback peer, which has no location
  });

  it('gives hosts the dashboard in code as DTO instances, equal to the HTTP body', async () => {
    await boot(HostModule);
    await app.get(SessionsService).touch({ id: 'a', ip: '85.228.0.1', clientVersion: '6.0.0' });
    const dashboard = await app.get(DashboardService).getDashboard();
    expect(dashboard).toBeInstanceOf(DashboardSessionsDto);
    expect(dashboard.geoIpData[0]).toBeInstanceOf(SessionGeoData);
    expect(dashboard.versions['6.0.0']).toBeInstanceOf(ClientVersionSupport);
    const { body } = await request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer()).expect(200);
    expect(JSON.parse(JSON.stringify(dashboard))).toEqual(body);
  });

  it('takes its options from forRootAsync with an injected ConfigService', async () => {
    @Module({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ SECRET: TEST_SECRET, FULL: '>=2.0.0' })] }),
        StatsModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            auth: { secret: config.getOrThrow('SECRET'), requiredRoles: ['ops'] },
            versionPolicy: { full: config.getOrThrow('FULL'), partial: '>=1.0.0' },
          }),
        }),
      ],
    })
    class AsyncHostModule {}
    await boot(AsyncHostModule);
    await app.get(SessionsService).touch({ id: 'a', ip: '8.8.8.8', clientVersion: '2.0.0' });
    const server = app.getHttpServer();
    await request(server)
      .get(DASHBOARD)
      .set('Authorization', bearer({ roles: ['stats:read'] }))
      .expect(403);
    const { body } = await request(server)
      .get(DASHBOARD)
      .set('Authorization', bearer({ roles: ['ops'] }))
      .expect(200);
    expect(body.versions).toEqual({ '2.0.0': { supportStatus: 'full', sessionCount: 1 } });
  });

  it.each([
    [{ ...DEFAULT_OPTIONS, versionPolicy: { full: 'not a range', partial: '>=1.0.0' } }, 'versionPolicy.full'],
    [{ ...DEFAULT_OPTIONS, versionPolicy: { full: '>=1.0.0' } }, 'versionPolicy.partial'],
    [{ auth: DEFAULT_OPTIONS.auth }, 'versionPolicy'],
    [{ ...DEFAULT_OPTIONS, sessions: { ttlSeconds: 0 } }, 'sessions.ttlSeconds'],
    [{ ...DEFAULT_OPTIONS, auth: {} }, 'auth'],
  ])('refuses to start with %j, naming %s', async (options, option) => {
    const starting = Test.createTestingModule({ imports: [StatsModule.forRoot(options as never)] }).compile();
    await expect(starting).rejects.toThrow(StatsConfigurationError);
    await expect(
      Test.createTestingModule({ imports: [StatsModule.forRoot(options as never)] }).compile(),
    ).rejects.toThrow(`StatsModule option "${option}"`);
  });

  it('refuses to start on an HTTP platform its route cannot answer on, naming the platform', async () => {
    /** Stands for the adapter of a third platform. */
    class KoaLikeAdapter extends ExpressAdapter {
      override getType(): string {
        return 'koa';
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [StatsModule.forRoot(DEFAULT_OPTIONS)] }).compile();
    app = moduleRef.createNestApplication(new KoaLikeAdapter(), { logger: false });
    const starting = app.init();
    await expect(starting).rejects.toThrow(UnsupportedPlatformError);
    await expect(starting).rejects.toThrow(
      'StatsModule does not support the HTTP platform "koa" (KoaLikeAdapter): ' +
        'it serves its route on Express (@nestjs/platform-express) or Fastify (@nestjs/platform-fastify)',
    );
  });

  it('starts without HTTP at all, in a standalone application context, for hosts that only report sessions', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [StatsModule.forRoot(DEFAULT_OPTIONS)] }).compile();
    const context = await moduleRef.init();
    try {
      await context.get(SessionsService).touch({ id: 'worker-1', ip: '8.8.8.8', clientVersion: '6.0.0' });
      expect((await context.get(DashboardService).getDashboard()).totalCount).toBe(1);
    } finally {
      await context.close();
    }
  });
});
