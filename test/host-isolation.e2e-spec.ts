import {
  Catch,
  Controller,
  Get,
  HttpException,
  Injectable,
  Module,
  Req,
  UseGuards,
  type ArgumentsHost,
  type CallHandler,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { Test } from '@nestjs/testing';
import { sign } from 'jsonwebtoken';
import passport from 'passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { map } from 'rxjs';
import request from 'supertest';
import { RequireRoles, StatsAuthGuard, StatsModule } from '../src/stats';
import { startHttpApp } from './support/http-platform';
import { DASHBOARD, DEFAULT_OPTIONS, RecordingLogger } from './support/stats-app';
import { bearer, tokenFor } from './support/tokens';

/** The host's own `jwt` strategy, with its own secret: it must keep working beside the module's. */
const HOST_SECRET = 'the-host-applications-own-secret-0123456789';
const hostToken = (claims: Record<string, unknown> = {}) =>
  sign({ sub: 'host-user', ...claims }, HOST_SECRET, { algorithm: 'HS256', expiresIn: '5m' });

@Injectable()
class HostJwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor() {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: HOST_SECRET,
      algorithms: ['HS256'],
    });
  }

  validate(payload: Record<string, unknown>) {
    return { hostUser: payload.sub };
  }
}

/** The host's global error format, nothing like the module's, written on whichever platform the host runs. */
@Catch()
class HostExceptionFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const body = { hostError: { status, type: (exception as object)?.constructor?.name ?? 'unknown' } };
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, status);
  }
}

/** The host wraps what its handlers return. */
@Injectable()
class HostEnvelopeInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler) {
    return next.handle().pipe(map((data) => ({ data })));
  }
}

@Controller('host')
class HostController {
  @Get('public')
  public() {
    return { ok: true };
  }

  /** Guarded the host's usual way: the default strategy of the host's PassportModule, `jwt`. */
  @Get('me')
  @UseGuards(AuthGuard())
  me(@Req() req: { account?: unknown; user?: unknown }) {
    return { account: req.account ?? null, user: req.user ?? null };
  }

  @Get('boom')
  boom() {
    throw new Error('host failure');
  }
}

/** A host route protected by the module's guard, with a role of the host's choosing. */
@Controller('host-admin')
@UseGuards(StatsAuthGuard)
class HostAdminController {
  @Get()
  @RequireRoles('stats:admin')
  admin(@Req() req: { user?: { sub?: unknown } }) {
    return { sub: req.user?.sub };
  }
}

@Module({})
class HostModule {
  static create(withStats: boolean): DynamicModule {
    return {
      module: HostModule,
      imports: [
        PassportModule.register({ defaultStrategy: 'jwt', property: 'account', session: false }),
        ...(withStats ? [StatsModule.forRoot(DEFAULT_OPTIONS)] : []),
      ],
      controllers: withStats ? [HostController, HostAdminController] : [HostController],
      providers: [
        HostJwtStrategy,
        { provide: APP_FILTER, useClass: HostExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: HostEnvelopeInterceptor },
      ],
    };
  }
}

async function createHostApp(withStats: boolean, initializePassport: boolean, logger: RecordingLogger | false = false) {
  const moduleRef = await Test.createTestingModule({ imports: [HostModule.create(withStats)] }).compile();
  return startHttpApp(moduleRef, { logger }, initializePassport ? (app) => app.use(passport.initialize()) : undefined);
}

/** What a client sees of a response. */
async function observe(app: INestApplication, path: string, authorization?: string) {
  const call = request(app.getHttpServer()).get(path);
  const response = await (authorization === undefined ? call : call.set('Authorization', authorization));
  return {
    status: response.status,
    body: response.body,
    contentType: response.headers['content-type'],
    wwwAuthenticate: response.headers['www-authenticate'],
  };
}

/** The host's own requests, with the host's tokens, the module's tokens and none. */
const HOST_REQUESTS: Array<[string, () => string | undefined]> = [
  ['/host/public', () => undefined],
  ['/host/me', () => `Bearer ${hostToken()}`],
  ['/host/me', () => undefined],
  ['/host/me', () => bearer()],
  ['/host/me', () => 'Bearer garbage'],
  ['/host/boom', () => undefined],
  ['/nowhere', () => undefined],
];

describe.each([
  ['without passport.initialize()', false],
  ['with passport.initialize()', true],
])('A host application with its own jwt strategy and error format, %s', (_name, initializePassport) => {
  let app: INestApplication | undefined;
  let logger: RecordingLogger;
  let baseline: Array<Record<string, unknown>>;

  // Observed first, on its own: passport's strategies are process-wide, so the two apps never overlap.
  beforeAll(async () => {
    const host = await createHostApp(false, initializePassport);
    baseline = [];
    for (const [path, authorization] of HOST_REQUESTS)
      baseline.push({ path, ...(await observe(host, path, authorization())) });
    await host.close();
  });

  beforeEach(async () => {
    logger = new RecordingLogger();
    app = await createHostApp(true, initializePassport, logger);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('behaves exactly as it does without StatsModule', async () => {
    const observed = [];
    for (const [path, authorization] of HOST_REQUESTS)
      observed.push({ path, ...(await observe(app!, path, authorization())) });
    expect(observed).toEqual(baseline);
  });

  it("keeps its own strategy: host tokens on host routes, the module's tokens refused there", async () => {
    expect(await observe(app!, '/host/me', `Bearer ${hostToken()}`)).toEqual({
      status: 200,
      body: { data: { account: { hostUser: 'host-user' }, user: null } },
      contentType: 'application/json; charset=utf-8',
      wwwAuthenticate: undefined,
    });
    expect(await observe(app!, '/host/me', bearer())).toEqual({
      status: 401,
      body: { hostError: { status: 401, type: 'UnauthorizedException' } },
      contentType: 'application/json; charset=utf-8',
      wwwAuthenticate: undefined,
    });
  });

  it("answers the module's route with the module's tokens and format, whatever the host's filter and interceptor", async () => {
    const ok = await observe(app!, DASHBOARD, bearer());
    expect(ok).toEqual({
      status: 200,
      body: { totalCount: 0, geoIpData: [], versions: {} },
      contentType: 'application/json; charset=utf-8',
      wwwAuthenticate: undefined,
    });
    expect(await observe(app!, DASHBOARD, `Bearer ${hostToken({ roles: ['stats:read'] })}`)).toEqual({
      status: 401,
      body: { id: 'unauthorized', message: 'Token error. Login again.' },
      contentType: 'application/json; charset=utf-8',
      wwwAuthenticate: 'Bearer error="invalid_token"',
    });
    expect(await observe(app!, DASHBOARD)).toEqual({
      status: 401,
      body: { id: 'unauthorized', message: 'Token error. Login again.' },
      contentType: 'application/json; charset=utf-8',
      wwwAuthenticate: 'Bearer',
    });
    expect((await observe(app!, DASHBOARD, bearer({ roles: ['other'] }))).body).toEqual({
      id: 'forbidden',
      message: 'Insufficient permissions to access this resource.',
    });
    expect(logger.text()).toContain('invalid signature');
  });

  it('lets the host protect its own route with StatsAuthGuard and @RequireRoles, errors in the host format', async () => {
    expect(await observe(app!, '/host-admin', bearer({ roles: ['stats:admin'] }))).toMatchObject({
      status: 200,
      body: { data: { sub: 'admin-1' } },
    });
    // The route demands its own role, not auth.requiredRoles.
    expect(await observe(app!, '/host-admin', bearer({ roles: ['stats:read'] }))).toMatchObject({
      status: 403,
      body: { hostError: { status: 403, type: 'InsufficientPermissionsError' } },
    });
    expect(await observe(app!, '/host-admin', `Bearer ${hostToken({ roles: ['stats:admin'] })}`)).toMatchObject({
      status: 401,
      body: { hostError: { status: 401, type: 'TokenError' } },
    });
    expect(await observe(app!, '/host-admin')).toMatchObject({ status: 401 });
    expect(logger.text()).toMatch(/Refused GET \/host-admin: token of subject "admin-1" lacks role\(s\) stats:admin/);
  });
});

describe("The module's guard and tokens", () => {
  it('need no host PassportModule, strategy or passport.initialize()', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [StatsModule.forRoot(DEFAULT_OPTIONS)] }).compile();
    const app = await startHttpApp(moduleRef, { logger: false });
    try {
      await request(app.getHttpServer()).get(DASHBOARD).set('Authorization', `Bearer ${tokenFor()}`).expect(200);
    } finally {
      await app.close();
    }
  });
});
