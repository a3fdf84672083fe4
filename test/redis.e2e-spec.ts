import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import request from 'supertest';
import { SessionsService, StatsModule, StoreUnavailableError, type StatsModuleOptions } from '../src/stats';
import { HealthController } from '../src/example/health.controller';
import { deleteKeys, TEST_REDIS_URL, uniqueKeyPrefix } from './support/redis';
import { eventually } from './support/eventually';
import { startHttpApp } from './support/http-platform';
import { RedisProxy } from './support/redis-proxy';
import { hasRedisServer, PrivateRedisServer } from './support/redis-server';
import { DASHBOARD, DEFAULT_OPTIONS, RecordingLogger } from './support/stats-app';
import { bearer } from './support/tokens';

const TTL_SECONDS = 60;
const UNAVAILABLE_BODY = { id: 'service_unavailable', message: 'Session store unavailable. Try again later.' };

/** A host with the StatsModule on Redis and a /health route. */
async function createRedisApp(
  redis: NonNullable<StatsModuleOptions['sessions']>['redis'],
  logger: RecordingLogger | false = false,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      StatsModule.forRoot({ ...DEFAULT_OPTIONS, sessions: { ttlSeconds: TTL_SECONDS, redis } }),
      TerminusModule.forRoot({ logger: false }),
    ],
    controllers: [HealthController],
  }).compile();
  return startHttpApp(moduleRef, { logger });
}

const dashboard = (app: INestApplication) => request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer());

describe('StatsModule on Redis (several instances)', () => {
  const runPrefix = uniqueKeyPrefix('e2e');
  let admin: Redis;
  let prefixCount = 0;
  let keyPrefix: string;
  const apps: INestApplication[] = [];
  const open = async (...args: Parameters<typeof createRedisApp>) => {
    const app = await createRedisApp(...args);
    apps.push(app);
    return app;
  };

  beforeAll(() => {
    admin = new Redis(TEST_REDIS_URL);
  });

  beforeEach(() => {
    keyPrefix = `${runPrefix}${++prefixCount}:`;
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  afterAll(async () => {
    await deleteKeys(admin, runPrefix);
    await admin.quit();
  });

  it('shows a session touched on one instance on the dashboard of another, and ends it for both', async () => {
    const a = await open({ url: TEST_REDIS_URL, keyPrefix });
    const b = await open({ url: TEST_REDIS_URL, keyPrefix });
    await a.get(SessionsService).touch({ id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0' });
    await a.get(SessionsService).touch({ id: 's2', ip: '8.8.8.8', clientVersion: '5.5.0' });

    const onB = await dashboard(b).expect(200);
    expect(onB.body).toEqual({
      totalCount: 2,
      geoIpData: [expect.objectContaining({ sessionCount: 2, countryCode: 'US', ips: ['8.8.8.8'] })],
      versions: {
        '6.0.0': { supportStatus: 'full', sessionCount: 1 },
        '5.5.0': { supportStatus: 'partial', sessionCount: 1 },
      },
    });
    expect((await dashboard(a).expect(200)).body).toEqual(onB.body);

    await b.get(SessionsService).end('s1');
    const onA = await dashboard(a).expect(200);
    expect(onA.body.totalCount).toBe(1);
    expect(onA.body.versions).toEqual({ '5.5.0': { supportStatus: 'partial', sessionCount: 1 } });
  });

  it('expires a session once, whichever instances read at that moment', async () => {
    const a = await open({ url: TEST_REDIS_URL, keyPrefix });
    const b = await open({ url: TEST_REDIS_URL, keyPrefix });
    // Seen almost a TTL ago: it expires in a few hundred milliseconds, not minutes.
    const expiresAt = Date.now() + 300;
    await a.get(SessionsService).touch({
      id: 'old',
      ip: '8.8.8.8',
      clientVersion: '6.0.0',
      seenAt: expiresAt - TTL_SECONDS * 1000,
    });
    await b.get(SessionsService).touch({ id: 'fresh', ip: '8.8.8.8', clientVersion: '6.0.0' });
    expect((await dashboard(b).expect(200)).body.totalCount).toBe(2);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 50));
    const reads = await Promise.all([a, b, a, b, a, b].map((app) => dashboard(app).expect(200)));
    for (const { body } of reads) {
      expect(body.totalCount).toBe(1);
      expect(body.geoIpData).toEqual([expect.objectContaining({ sessionCount: 1, ips: ['8.8.8.8'] })]);
      expect(body.versions).toEqual({ '6.0.0': { supportStatus: 'full', sessionCount: 1 } });
    }
  });

  it('keeps the sessions when an instance restarts', async () => {
    const first = await open({ url: TEST_REDIS_URL, keyPrefix });
    await first.get(SessionsService).touch({ id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0' });
    const before = (await dashboard(first).expect(200)).body;
    await apps.splice(apps.indexOf(first), 1)[0].close();

    const restarted = await open({ url: TEST_REDIS_URL, keyPrefix });
    expect((await dashboard(restarted).expect(200)).body).toEqual(before);
  });

  it('uses a client of the host and leaves it open when the application closes', async () => {
    const client = new Redis(TEST_REDIS_URL);
    try {
      const app = await createRedisApp({ client, keyPrefix });
      await app.get(SessionsService).touch({ id: 's1', ip: '8.8.8.8' });
      expect((await dashboard(app).expect(200)).body.totalCount).toBe(1);
      await app.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  describe('when Redis goes away and comes back', () => {
    let proxy: RedisProxy;

    beforeEach(async () => {
      proxy = new RedisProxy(new URL(TEST_REDIS_URL));
      await proxy.start();
    });

    afterEach(async () => {
      await proxy.stop();
    });

    it('answers 503 within the bound, reports unhealthy, then recovers without a restart', async () => {
      const logger = new RecordingLogger();
      const app = await open({ url: proxy.url, keyPrefix, commandTimeoutMs: 500 }, logger);
      const sessions = app.get(SessionsService);
      await sessions.touch({ id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0' });
      await dashboard(app).expect(200);
      await request(app.getHttpServer()).get('/health').expect(200);

      await proxy.stop();
      const started = Date.now();
      const response = await dashboard(app).expect(503);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(response.body).toEqual(UNAVAILABLE_BODY);
      expect(response.headers['retry-after']).toBe('5');

      const touch = sessions.touch({ id: 's2', ip: '8.8.8.8', clientVersion: '6.0.0' });
      await expect(touch).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(touch).rejects.toThrow('Session store unavailable. Try again later.');

      const health = await request(app.getHttpServer()).get('/health').expect(503);
      expect(health.body.error.stats).toEqual({
        status: 'down',
        geo: 'up',
        store: 'down',
        storeError: expect.stringMatching(/writeable|ECONNREFUSED|closed/),
      });
      expect(Date.now() - started).toBeLessThan(4000);

      await proxy.start();
      const recovered = await eventually(async () => (await dashboard(app).expect(200)).body, 8000);
      expect(recovered.totalCount).toBe(1);
      await request(app.getHttpServer()).get('/health').expect(200);
      await sessions.touch({ id: 's2', ip: '8.8.8.8', clientVersion: '6.0.0' });
      expect((await dashboard(app).expect(200)).body.totalCount).toBe(2);
      expect(logger.text()).toMatch(/Redis session store: .* retrying in the background/);
    });

    it('starts while Redis is away, answering 503 until it is there', async () => {
      await proxy.stop();
      const started = Date.now();
      const app = await open({ url: proxy.url, keyPrefix, commandTimeoutMs: 500 });
      expect(Date.now() - started).toBeLessThan(2000);
      expect((await dashboard(app).expect(503)).body).toEqual(UNAVAILABLE_BODY);
      await proxy.start();
      await eventually(() => dashboard(app).expect(200), 8000);
    });
  });
});

// A Redis of the spec's own, since restarting the shared one is not the spec's to do.
(hasRedisServer ? describe : describe.skip)('StatsModule when Redis restarts and lost its data', () => {
  const server = new PrivateRedisServer();
  let app: INestApplication | undefined;

  beforeAll(() => server.start());

  afterAll(async () => {
    await app?.close();
    await server.stop();
  });

  it('loads its scripts again, starts a new revision sequence and never serves the old dashboard', async () => {
    app = await createRedisApp({ url: server.url, keyPrefix: 'stats:sessions:', commandTimeoutMs: 500 });
    const sessions = app.get(SessionsService);
    await sessions.touch({ id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0' });
    expect((await dashboard(app).expect(200)).body.geoIpData[0].ips).toEqual(['8.8.8.8']);

    await server.stop();
    expect((await dashboard(app).expect(503)).body).toEqual(UNAVAILABLE_BODY);
    await server.start();

    // The data is gone and the revision counter starts again, at the same number as the cached
    // dashboard's: still the body must show the new session, not the old one.
    await eventually(() => sessions.touch({ id: 's2', ip: '1.1.1.1', clientVersion: '6.0.0' }), 8000);
    const after = (await dashboard(app).expect(200)).body;
    expect(after.totalCount).toBe(1);
    expect(after.geoIpData[0].ips).toEqual(['1.1.1.1']);
  });
});
