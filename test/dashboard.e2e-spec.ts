import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { SessionsService, type ActiveSession, type SessionSource } from '../src/stats';
import { createStatsApp, DASHBOARD, RecordingLogger } from './support/stats-app';
import { bearer } from './support/tokens';

/** The documented example, rebuilt with public IPs that geoip-lite places where the example does. */
const DOCUMENTED_SESSIONS = [
  { id: 's1', ip: '85.228.0.1', clientVersion: '6.0.0-release-1234' },
  { id: 's2', ip: '85.228.0.1', clientVersion: '6.0.0-release-1234' },
  { id: 's3', ip: '85.228.0.2', clientVersion: '5.5.0-release-1234' },
  { id: 's4', ip: '8.8.8.8', clientVersion: '6.0.0-release-1234' },
  { id: 's5', ip: '49.44.0.1', clientVersion: '5.5.0-release-1234' },
  // A private address: counted in totalCount, in no location (as in the documented example).
  { id: 's6', ip: '10.1.2.3', clientVersion: '5.4.1-release-1234' },
];

const DOCUMENTED_BODY = {
  totalCount: 6,
  geoIpData: [
    {
      sessionCount: 3,
      latitude: 57.9303,
      longitude: 12.5334,
      countryCode: 'SE',
      continentCode: 'EU',
      ips: ['85.228.0.1', '85.228.0.2'],
    },
    { sessionCount: 1, latitude: 20, longitude: 77, countryCode: 'IN', continentCode: 'AS', ips: ['49.44.0.1'] },
    { sessionCount: 1, latitude: 37.751, longitude: -97.822, countryCode: 'US', continentCode: 'NA', ips: ['8.8.8.8'] },
  ],
  versions: {
    '6.0.0-release-1234': { supportStatus: 'full', sessionCount: 3 },
    '5.5.0-release-1234': { supportStatus: 'partial', sessionCount: 2 },
    '5.4.1-release-1234': { supportStatus: 'none', sessionCount: 1 },
  },
};

describe('GET /stats/active-sessions/dashboard', () => {
  let app: INestApplication;
  let sessions: SessionsService;

  const get = () => request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer());

  afterEach(async () => {
    await app?.close();
  });

  describe('with the in-memory store', () => {
    beforeEach(async () => {
      app = await createStatsApp();
      sessions = app.get(SessionsService);
    });

    it('answers the documented example, field for field', async () => {
      for (const session of DOCUMENTED_SESSIONS) await sessions.touch(session);
      const response = await get().expect(200);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual(DOCUMENTED_BODY);
      // The documented field order, not just the same fields.
      expect(Object.keys(response.body)).toEqual(['totalCount', 'geoIpData', 'versions']);
      expect(Object.keys(response.body.geoIpData[0])).toEqual([
        'sessionCount',
        'latitude',
        'longitude',
        'countryCode',
        'continentCode',
        'ips',
      ]);
      expect(Object.keys(response.body.versions)).toEqual(Object.keys(DOCUMENTED_BODY.versions));
    });

    it('answers an empty dashboard when no session is active', async () => {
      const response = await get().expect(200);
      expect(response.body).toEqual({ totalCount: 0, geoIpData: [], versions: {} });
    });

    it('counts a session once however often it is touched, and reflects its latest IP and version', async () => {
      await sessions.touch({ id: 'a', ip: '8.8.8.8', clientVersion: '5.5.0' });
      await sessions.touch({ id: 'a', ip: '8.8.8.8', clientVersion: '5.5.0' });
      await sessions.touch({ id: 'a', ip: '85.228.0.1', clientVersion: '6.0.0' });
      const { body } = await get().expect(200);
      expect(body.totalCount).toBe(1);
      expect(body.geoIpData).toEqual([
        expect.objectContaining({ countryCode: 'SE', sessionCount: 1, ips: ['85.228.0.1'] }),
      ]);
      expect(body.versions).toEqual({ '6.0.0': { supportStatus: 'full', sessionCount: 1 } });
    });

    it('keeps the newest sighting when an older one arrives late', async () => {
      const now = Date.now();
      await sessions.touch({ id: 'a', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: now });
      await sessions.touch({ id: 'a', ip: '49.44.0.1', clientVersion: '5.0.0', seenAt: now - 10_000 });
      const { body } = await get().expect(200);
      expect(body.geoIpData.map((entry: { countryCode: string }) => entry.countryCode)).toEqual(['US']);
      expect(Object.keys(body.versions)).toEqual(['6.0.0']);
    });

    it('drops sessions not seen for ttlSeconds, and ended sessions at once', async () => {
      await sessions.touch({ id: 'stale', ip: '8.8.8.8', seenAt: Date.now() - 301_000 });
      await sessions.touch({ id: 'almost', ip: '8.8.8.8', seenAt: Date.now() - 290_000 });
      await sessions.touch({ id: 'ended', ip: '8.8.8.8' });
      await sessions.end('ended');
      const { body } = await get().expect(200);
      expect(body.totalCount).toBe(1);
      expect(body.versions).toEqual({ unknown: { supportStatus: 'none', sessionCount: 1 } });
    });

    it('reflects a touch and an end on the very next request', async () => {
      await sessions.touch({ id: 'a', ip: '8.8.8.8' });
      expect((await get().expect(200)).body.totalCount).toBe(1);
      await sessions.touch({ id: 'b', ip: '8.8.4.4' });
      expect((await get().expect(200)).body.totalCount).toBe(2);
      await sessions.end('a');
      expect((await get().expect(200)).body.totalCount).toBe(1);
    });

    it('locates IPv6, and counts an IPv4-mapped IPv6 address as the IPv4 address', async () => {
      await sessions.touch({ id: 'a', ip: '::ffff:8.8.8.8' });
      await sessions.touch({ id: 'b', ip: '8.8.8.8' });
      await sessions.touch({ id: 'c', ip: '2001:4860:4860:0:0:0:0:8888' });
      await sessions.touch({ id: 'd', ip: '::1' });
      const { body } = await get().expect(200);
      expect(body.totalCount).toBe(4);
      const us = body.geoIpData.find((entry: { countryCode: string }) => entry.countryCode === 'US');
      expect(us.sessionCount).toBe(3);
      // The distinct addresses, each once; the API gives them in no particular order.
      expect([...us.ips].sort()).toEqual(['2001:4860:4860::8888', '8.8.8.8']);
    });

    it('lists an address given with a zone index once, as the address alone', async () => {
      await sessions.touch({ id: 'a', ip: '2a00:1450:4001:81b::200e%eth0' });
      await sessions.touch({ id: 'b', ip: '2a00:1450:4001:81b::200e' });
      await sessions.touch({ id: 'c', ip: '::ffff:8.8.8.8%2' });
      const { body } = await get().expect(200);
      expect(body.totalCount).toBe(3);
      const ips = body.geoIpData.flatMap((entry: { ips: string[] }) => entry.ips).sort();
      expect(ips).toEqual(['2a00:1450:4001:81b::200e', '8.8.8.8']);
      const zoned = body.geoIpData.find((entry: { ips: string[] }) => entry.ips.includes('2a00:1450:4001:81b::200e'));
      expect(zoned.sessionCount).toBe(2);
    });

    it('counts sessions in private, loopback and documentation ranges without a location', async () => {
      const unlocated = [
        '10.0.0.1',
        '192.168.1.1',
        '172.16.0.1',
        '127.0.0.1',
        '192.0.2.1',
        '198.51.100.1',
        '203.0.113.1',
        'fd00::1',
      ];
      for (const [index, ip] of unlocated.entries()) await sessions.touch({ id: `s${index}`, ip });
      const { body } = await get().expect(200);
      expect(body.totalCount).toBe(unlocated.length);
      expect(body.geoIpData).toEqual([]);
    });

    it('orders locations by session count, ties in a stable order', async () => {
      const ips = ['49.44.0.1', '8.8.8.8', '85.228.0.1', '41.0.0.1', '41.0.0.1'];
      for (const [index, ip] of ips.entries()) await sessions.touch({ id: `s${index}`, ip });
      const first = (await get().expect(200)).body.geoIpData.map((entry: { countryCode: string }) => entry.countryCode);
      expect(first).toEqual(['ZA', 'IN', 'SE', 'US']);
    });

    it('judges versions by their X.Y.Z, keys them trimmed, newest first, unknown and unparsable last', async () => {
      const versions = [
        '6.1.2-32120-release',
        ' 6.0.0-release-1234 ',
        '5.5.0',
        '5.4.1',
        '',
        undefined,
        'banana',
        '10.0.0',
      ];
      for (const [index, clientVersion] of versions.entries()) {
        await sessions.touch({ id: `s${index}`, ip: '8.8.8.8', clientVersion });
      }
      const { body } = await get().expect(200);
      expect(Object.entries(body.versions)).toEqual([
        ['10.0.0', { supportStatus: 'full', sessionCount: 1 }],
        ['6.1.2-32120-release', { supportStatus: 'full', sessionCount: 1 }],
        ['6.0.0-release-1234', { supportStatus: 'full', sessionCount: 1 }],
        ['5.5.0', { supportStatus: 'partial', sessionCount: 1 }],
        ['5.4.1', { supportStatus: 'none', sessionCount: 1 }],
        ['banana', { supportStatus: 'none', sessionCount: 1 }],
        ['unknown', { supportStatus: 'none', sessionCount: 2 }],
      ]);
      const counted = Object.values(body.versions as Record<string, { sessionCount: number }>).reduce(
        (sum, version) => sum + version.sessionCount,
        0,
      );
      expect(counted).toBe(body.totalCount);
    });

    it('keeps newest-first order even for version keys that look like integers', async () => {
      await sessions.touch({ id: 'a', ip: '8.8.8.8', clientVersion: '7' });
      await sessions.touch({ id: 'b', ip: '8.8.8.8', clientVersion: '8.1' });
      const response = await get().expect(200);
      expect(response.text).toContain('"versions":{"8.1":{"supportStatus":"full","sessionCount":1},"7":');
    });

    it.each([
      [{ id: '', ip: '8.8.8.8' }, /Invalid session id/],
      [{ id: 'x'.repeat(257), ip: '8.8.8.8' }, /Invalid session id: must be at most 256/],
      [{ id: 'a', ip: '999.1.1.1' }, /Invalid session ip: "999.1.1.1" is not an IPv4 or IPv6 address/],
      [{ id: 'a', ip: '0x7f.1' }, /Invalid session ip/],
      [{ id: 'a', ip: undefined }, /Invalid session ip/],
      [{ id: 'a', ip: '8.8.8.8', clientVersion: 'v'.repeat(129) }, /Invalid session clientVersion/],
      [{ id: 'a', ip: '8.8.8.8', seenAt: new Date('nope') }, /Invalid session seenAt/],
    ])('rejects touch(%j) with a clear error and stores nothing', async (input, message) => {
      await expect(sessions.touch(input as never)).rejects.toThrow(message);
      expect((await get().expect(200)).body.totalCount).toBe(0);
    });
  });

  describe('with host-provided session sources', () => {
    const source = (records: unknown[], name?: string): SessionSource => ({
      name,
      listActiveSessions: async () => records as ActiveSession[],
    });

    it('merges sources and the store: one session per id, the newest sighting wins', async () => {
      const now = Date.now();
      app = await createStatsApp({
        sessions: {
          sources: [
            source([
              { id: 'a', ip: '8.8.8.8', clientVersion: '5.5.0', lastSeenAt: now - 60_000 },
              { id: 'b', ip: '49.44.0.1', clientVersion: '6.0.0' },
            ]),
            // Session "a" failed over to a second gateway: reported again, seen later, elsewhere.
            source([
              { id: 'a', ip: '85.228.0.1', clientVersion: '6.0.0', lastSeenAt: new Date(now - 1000).toISOString() },
            ]),
            source([{ id: 'gone', ip: '8.8.8.8', lastSeenAt: now - 400_000 }]),
          ],
        },
      });
      sessions = app.get(SessionsService);
      await sessions.touch({ id: 'b', ip: '49.44.0.1', clientVersion: '6.0.0', seenAt: now - 120_000 });
      await sessions.touch({ id: 'c', ip: '41.0.0.1', clientVersion: '5.4.1' });
      const { body } = await get().expect(200);
      expect(body.totalCount).toBe(3);
      expect(body.geoIpData.map((entry: { countryCode: string }) => entry.countryCode).sort()).toEqual([
        'IN',
        'SE',
        'ZA',
      ]);
      expect(body.versions).toEqual({
        '6.0.0': { supportStatus: 'full', sessionCount: 2 },
        '5.4.1': { supportStatus: 'none', sessionCount: 1 },
      });
    });

    it("keeps the store's sighting when it is newer than a source's, counting the session once where the store saw it", async () => {
      const now = Date.now();
      app = await createStatsApp({
        sessions: { sources: [source([{ id: 'a', ip: '8.8.8.8', clientVersion: '5.5.0', lastSeenAt: now - 60_000 }])] },
      });
      sessions = app.get(SessionsService);
      await sessions.touch({ id: 'a', ip: '85.228.0.1', clientVersion: '6.0.0', seenAt: now - 1000 });
      const { body } = await get().expect(200);
      expect(body.totalCount).toBe(1);
      expect(body.geoIpData).toEqual([
        expect.objectContaining({ countryCode: 'SE', sessionCount: 1, ips: ['85.228.0.1'] }),
      ]);
      expect(body.versions).toEqual({ '6.0.0': { supportStatus: 'full', sessionCount: 1 } });
    });

    it('counts malformed records where it can and logs one warning', async () => {
      const logger = new RecordingLogger();
      app = await createStatsApp(
        {
          sessions: {
            sources: [
              source([
                { id: 'ok', ip: '8.8.8.8', clientVersion: '6.0.0' },
                { id: 'bad-ip', ip: 'not-an-ip', clientVersion: '6.0.0' },
                { id: 'bad-version', ip: '8.8.8.8', clientVersion: 42 },
                { id: 'bad-time', ip: '8.8.8.8', lastSeenAt: 'yesterday-ish' },
                { ip: '8.8.8.8' },
                null,
              ]),
            ],
          },
        },
        logger,
      );
      const { body } = await get().expect(200);
      expect(body.totalCount).toBe(4);
      expect(body.geoIpData).toEqual([expect.objectContaining({ countryCode: 'US', sessionCount: 3 })]);
      expect(body.versions).toEqual({
        '6.0.0': { supportStatus: 'full', sessionCount: 2 },
        unknown: { supportStatus: 'none', sessionCount: 2 },
      });
      const warnings = logger.lines.filter((line) => line.startsWith('warn') && line.includes('session record'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('5 session record(s)');
      for (const field of ['id', 'ip', 'clientVersion', 'lastSeenAt'])
        expect(warnings[0]).toMatch(new RegExp(`\\b${field}\\b`));
    });

    it('answers 500 with the generic body when a source throws, the cause only in the log', async () => {
      const logger = new RecordingLogger();
      app = await createStatsApp(
        {
          sessions: {
            sources: [{ listActiveSessions: async () => Promise.reject(new Error('db password wrong for user x')) }],
          },
        },
        logger,
      );
      const response = await get().expect(500);
      expect(response.body).toEqual({ id: 'internal_error', message: 'Unexpected server side error.' });
      expect(response.text).not.toContain('password');
      expect(logger.text()).toContain('db password wrong for user x');
    });

    it.each([
      ['undefined', undefined],
      ['null', null],
      ['number', 42],
      ['object', { sessions: [] }],
    ])('answers 500 and logs the name of a source that answers %s, which is not an iterable', async (kind, answer) => {
      const logger = new RecordingLogger();
      app = await createStatsApp(
        { sessions: { sources: [{ name: 'billing-db', listActiveSessions: async () => answer as never }] } },
        logger,
      );
      const response = await get().expect(500);
      expect(response.body).toEqual({ id: 'internal_error', message: 'Unexpected server side error.' });
      expect(logger.text()).toContain(`session source billing-db returned ${kind}, not an iterable`);
    });

    it('answers 504 when a source does not answer within sourceTimeoutMs', async () => {
      app = await createStatsApp({
        sessions: {
          sourceTimeoutMs: 100,
          sources: [{ name: 'slow-gateway', listActiveSessions: () => new Promise(() => undefined) }],
        },
      });
      const started = Date.now();
      const response = await get().expect(504);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(response.body).toEqual({ id: 'gateway_timeout', message: 'A session source did not answer in time.' });
    });
  });
});
