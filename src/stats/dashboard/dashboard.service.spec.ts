import { GeoService } from '../geo/geo.service';
import { MemorySessionStore } from '../sessions/memory-session.store';
import type { SessionAggregates, SessionStore } from '../sessions/session-store.interface';
import type { ActiveSession } from '../sessions/session.types';
import type { ResolvedStatsOptions } from '../stats-options.validation';
import { VersionPolicyService } from '../versions/version-policy.service';
import { DashboardService } from './dashboard.service';

const options = (sources: { listActiveSessions(): Promise<Iterable<ActiveSession>> }[] = []) =>
  ({
    versionPolicy: { full: '>=6.0.0', partial: '>=5.5.0 <6.0.0' },
    sessions: { sources, sourceTimeoutMs: 1000, ttlSeconds: 300 },
  }) as unknown as ResolvedStatsOptions;

/** The in-memory store, counting the calls the dashboard makes to it. */
function countingStore() {
  const store = new MemorySessionStore(300);
  const calls = { revision: 0, aggregates: 0 };
  const counted: SessionStore = {
    upsert: (sessions, now) => store.upsert(sessions, now),
    remove: (ids) => store.remove(ids),
    find: (ids, now) => store.find(ids, now),
    ping: () => store.ping(),
    revision: (now) => (calls.revision++, store.revision(now)),
    aggregates: (now): Promise<SessionAggregates> => (calls.aggregates++, store.aggregates(now)),
    changedIpsSince: (position) => store.changedIpsSince(position),
  };
  return { store: counted, calls, close: () => store.onModuleDestroy() };
}

const dashboardOf = (store: SessionStore, resolved = options()) =>
  new DashboardService(store, new GeoService(), new VersionPolicyService(resolved), resolved);

describe('DashboardService', () => {
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((close) => close()));

  it('composes the body from the store, GeoService and VersionPolicyService, in the documented field order', async () => {
    const { store, close } = countingStore();
    closers.push(close);
    const now = Date.now();
    await store.upsert(
      [
        { id: 'a', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: now },
        { id: 'b', ip: '10.0.0.1', clientVersion: '5.4.0', seenAt: now },
      ],
      now,
    );
    const json = (await dashboardOf(store).getDashboardJson()).toString('utf8');
    expect(Object.keys(JSON.parse(json))).toEqual(['totalCount', 'geoIpData', 'versions']);
    expect(JSON.parse(json)).toEqual({
      totalCount: 2,
      geoIpData: [
        {
          sessionCount: 1,
          latitude: 37.751,
          longitude: -97.822,
          countryCode: 'US',
          continentCode: 'NA',
          ips: ['8.8.8.8'],
        },
      ],
      versions: {
        '6.0.0': { supportStatus: 'full', sessionCount: 1 },
        '5.4.0': { supportStatus: 'none', sessionCount: 1 },
      },
    });
  });

  it('serves the cached body while the revision stays, and computes again after a change', async () => {
    const { store, calls, close } = countingStore();
    closers.push(close);
    const dashboard = dashboardOf(store);
    const first = await dashboard.getDashboardBody();
    expect(await dashboard.getDashboardBody()).toBe(first);
    expect(calls.aggregates).toBe(1);
    await store.upsert([{ id: 'a', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: Date.now() }], Date.now());
    const second = await dashboard.getDashboardBody();
    expect(second).not.toBe(first);
    expect(calls.aggregates).toBe(2);
  });

  it('lets concurrent requests share one computation', async () => {
    const { store, calls, close } = countingStore();
    closers.push(close);
    await store.upsert([{ id: 'a', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: Date.now() }], Date.now());
    const dashboard = dashboardOf(store);
    const bodies = await Promise.all(Array.from({ length: 10 }, () => dashboard.getDashboardBody()));
    expect(new Set(bodies).size).toBe(1);
    expect(calls.aggregates).toBe(1);
  });

  it('reflects a change made while a computation was under way in the next answer', async () => {
    const { store, close } = countingStore();
    closers.push(close);
    const dashboard = dashboardOf(store);
    const under = dashboard.getDashboardJson();
    await store.upsert([{ id: 'late', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: Date.now() }], Date.now());
    await under;
    expect(JSON.parse((await dashboard.getDashboardJson()).toString('utf8')).totalCount).toBe(1);
  });

  it('gives hosts the same figures as DTO instances', async () => {
    const { store, close } = countingStore();
    closers.push(close);
    await store.upsert([{ id: 'a', ip: '8.8.8.8', clientVersion: '5.6.0', seenAt: Date.now() }], Date.now());
    const dto = await dashboardOf(store).getDashboard();
    expect(dto.totalCount).toBe(1);
    expect(dto.versions['5.6.0']).toEqual(expect.objectContaining({ supportStatus: 'partial', sessionCount: 1 }));
  });
});
