import type { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import request from 'supertest';
import { MemorySessionStore, SESSION_STORE, SessionsService, type SessionStore } from '../src/stats';
import { deleteKeys, TEST_REDIS_URL, uniqueKeyPrefix } from './support/redis';
import { createStatsApp, DASHBOARD } from './support/stats-app';
import { bearer } from './support/tokens';

/** What the dashboard says, in a form that compares regardless of the order of IPs within a location. */
async function dashboard(app: INestApplication) {
  const { body } = await request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer()).expect(200);
  return {
    totalCount: body.totalCount,
    locations: Object.fromEntries(
      body.geoIpData.map((location: { countryCode: string; sessionCount: number; ips: string[] }) => [
        location.countryCode,
        { sessionCount: location.sessionCount, ips: [...location.ips].sort() },
      ]),
    ),
  };
}

/** A host's own store that offers no change feed: it delegates to the in-memory store and hides the rest. */
class PlainStore implements SessionStore {
  private readonly inner = new MemorySessionStore(300);
  upsert: SessionStore['upsert'] = (sessions, now) => this.inner.upsert(sessions, now);
  remove: SessionStore['remove'] = (ids) => this.inner.remove(ids);
  revision: SessionStore['revision'] = (now) => this.inner.revision(now);
  find: SessionStore['find'] = (ids, now) => this.inner.find(ids, now);
  ping: SessionStore['ping'] = () => this.inner.ping();
  async aggregates(now: number) {
    const { revision, totalCount, sessionsByIp, sessionsByVersion } = await this.inner.aggregates(now);
    return { revision, totalCount, sessionsByIp: new Map(sessionsByIp), sessionsByVersion: new Map(sessionsByVersion) };
  }
  onModuleDestroy() {
    this.inner.onModuleDestroy();
  }
}

describe('Readers of the session store besides the dashboard', () => {
  let app: INestApplication;
  let admin: Redis;
  const runPrefix = uniqueKeyPrefix('readers');
  let prefixCount = 0;

  beforeAll(() => {
    admin = new Redis(TEST_REDIS_URL);
  });

  afterEach(async () => {
    await app?.close();
  });

  afterAll(async () => {
    await deleteKeys(admin, runPrefix);
    admin.disconnect();
  });

  const stores: [string, () => Promise<INestApplication>][] = [
    ['the in-memory store', () => createStatsApp()],
    [
      'the Redis store',
      () =>
        createStatsApp({ sessions: { redis: { url: TEST_REDIS_URL, keyPrefix: `${runPrefix}${++prefixCount}:` } } }),
    ],
    ['a custom store without a change feed', () => createStatsApp({ sessions: { store: new PlainStore() } })],
  ];

  describe.each(stores)('with %s', (_name, createApp) => {
    let sessions: SessionsService;
    let store: SessionStore;

    beforeEach(async () => {
      app = await createApp();
      sessions = app.get(SessionsService);
      store = app.get(SESSION_STORE);
    });

    it('keeps the dashboard exact however often host code reads the exported store', async () => {
      await sessions.touch({ id: 'a', ip: '8.8.8.8', clientVersion: '6.0.0' });
      expect(await dashboard(app)).toEqual({ totalCount: 1, locations: { US: { sessionCount: 1, ips: ['8.8.8.8'] } } });

      await sessions.touch({ id: 'b', ip: '85.228.0.1', clientVersion: '6.0.0' });
      await store.aggregates(Date.now()); // a reader of the host's, between two polls
      await store.aggregates(Date.now());
      expect(await dashboard(app)).toEqual({
        totalCount: 2,
        locations: { US: { sessionCount: 1, ips: ['8.8.8.8'] }, SE: { sessionCount: 1, ips: ['85.228.0.1'] } },
      });

      await sessions.end('a');
      await sessions.touch({ id: 'c', ip: '85.228.0.2', clientVersion: '6.0.0' });
      await store.aggregates(Date.now());
      expect(await dashboard(app)).toEqual({
        totalCount: 2,
        locations: { SE: { sessionCount: 2, ips: ['85.228.0.1', '85.228.0.2'] } },
      });
    });

    it('gives two concurrent polls and a host reader the same figures', async () => {
      await sessions.touch({ id: 'a', ip: '8.8.8.8', clientVersion: '6.0.0' });
      await dashboard(app);
      await sessions.touch({ id: 'b', ip: '85.228.0.1', clientVersion: '6.0.0' });
      const [first, , second] = await Promise.all([dashboard(app), store.aggregates(Date.now()), dashboard(app)]);
      expect(first).toEqual(second);
      expect(first.totalCount).toBe(2);
      expect(Object.keys(first.locations).sort()).toEqual(['SE', 'US']);
    });
  });
});
