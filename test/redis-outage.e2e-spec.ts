import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { HealthController } from '../src/example/health.controller';
import { StatsModule } from '../src/stats';
import { TEST_REDIS_URL, uniqueKeyPrefix } from './support/redis';
import { RedisProxy } from './support/redis-proxy';
import { DASHBOARD, DEFAULT_OPTIONS, RecordingLogger } from './support/stats-app';
import { bearer } from './support/tokens';

/** What a host and its operators are told while Redis cannot be reached: the cause, not ioredis's words. */
describe('StatsModule on a Redis that cannot be reached', () => {
  let proxy: RedisProxy;
  let app: INestApplication | undefined;
  let logger: RecordingLogger;

  beforeEach(async () => {
    // A port that refuses connections: the proxy's, once stopped.
    proxy = new RedisProxy(new URL(TEST_REDIS_URL));
    await proxy.start();
    await proxy.stop();
    logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        StatsModule.forRoot({
          ...DEFAULT_OPTIONS,
          sessions: { redis: { url: proxy.url, keyPrefix: uniqueKeyPrefix('outage'), commandTimeoutMs: 300 } },
        }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
  });

  afterEach(async () => {
    await app?.close();
    await proxy.stop();
  });

  it('names the refused connection in /health and in the warning of the 503', async () => {
    const refused = `connect ECONNREFUSED 127.0.0.1:${new URL(proxy.url).port}`;
    const health = await request(app!.getHttpServer()).get('/health').expect(503);
    expect(health.body.error.stats).toEqual({ status: 'down', geo: 'up', store: 'down', storeError: refused });

    const response = await request(app!.getHttpServer()).get(DASHBOARD).set('Authorization', bearer()).expect(503);
    expect(response.body).toEqual({
      id: 'service_unavailable',
      message: 'Session store unavailable. Try again later.',
    });
    const warnings = logger.lines.filter((line) => line.startsWith('warn'));
    expect(warnings).toEqual([`warn 503 service_unavailable: ${refused}`]);
    expect(logger.text()).not.toMatch(/writeable|enableOfflineQueue/);
  });
});
