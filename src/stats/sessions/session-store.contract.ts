import type { SessionAggregates, SessionStore, StoredSession } from './session-store.interface';

/** TTL the contract runs with; every time below is an explicit `now`, so nothing waits. */
const TTL_SECONDS = 60;
const TTL_MS = TTL_SECONDS * 1000;
const T0 = 1_700_000_000_000;

/**
 * The behaviour every {@link SessionStore} shares, written once and run against each store:
 * `describeSessionStoreContract('MemorySessionStore', (ttl) => new MemorySessionStore(ttl), ...)`.
 * `createStore` must return an empty store; `cleanup` releases it after each test.
 */
export function describeSessionStoreContract(
  name: string,
  createStore: (ttlSeconds: number) => SessionStore | Promise<SessionStore>,
  cleanup: (store: SessionStore) => void | Promise<void> = () => undefined,
): void {
  describe(`${name} (SessionStore contract)`, () => {
    let store: SessionStore;

    beforeEach(async () => {
      store = await createStore(TTL_SECONDS);
    });

    afterEach(async () => {
      if (store) await cleanup(store);
    });

    const session = (id: string, ip: string, clientVersion: string, seenAt = T0): StoredSession => ({
      id,
      ip,
      clientVersion,
      seenAt,
    });

    /** A copy, since a store may hand out maps it keeps updating. */
    const snapshot = async (now: number) => {
      const aggregates: SessionAggregates = await store.aggregates(now);
      return {
        revision: aggregates.revision,
        totalCount: aggregates.totalCount,
        sessionsByIp: Object.fromEntries(aggregates.sessionsByIp),
        sessionsByVersion: Object.fromEntries(aggregates.sessionsByVersion),
      };
    };

    it('starts empty', async () => {
      expect(await snapshot(T0)).toMatchObject({ totalCount: 0, sessionsByIp: {}, sessionsByVersion: {} });
      expect((await store.find(['a'], T0)).size).toBe(0);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('counts inserted sessions per IP and per version', async () => {
      await store.upsert(
        [session('a', '8.8.8.8', '6.0.0'), session('b', '8.8.8.8', '5.5.0'), session('c', '2001:db8::1', '6.0.0')],
        T0,
      );
      expect(await snapshot(T0)).toMatchObject({
        totalCount: 3,
        sessionsByIp: { '8.8.8.8': 2, '2001:db8::1': 1 },
        sessionsByVersion: { '6.0.0': 2, '5.5.0': 1 },
      });
    });

    it('counts a session once per id and moves it when its IP or version changes', async () => {
      await store.upsert([session('a', '8.8.8.8', '6.0.0')], T0);
      await store.upsert([session('a', '8.8.8.8', '6.0.0', T0 + 1)], T0 + 1);
      await store.upsert([session('a', '1.1.1.1', '6.0.0', T0 + 2)], T0 + 2);
      await store.upsert([session('a', '1.1.1.1', '6.1.0', T0 + 3)], T0 + 3);
      expect(await snapshot(T0 + 3)).toMatchObject({
        totalCount: 1,
        sessionsByIp: { '1.1.1.1': 1 },
        sessionsByVersion: { '6.1.0': 1 },
      });
    });

    it('keeps the newest sighting when an older one arrives later', async () => {
      await store.upsert([session('a', '8.8.8.8', '6.0.0', T0 + 10)], T0 + 10);
      const revision = await store.revision(T0 + 10);
      await store.upsert([session('a', '1.1.1.1', '5.0.0', T0 + 5)], T0 + 10);
      expect(await store.revision(T0 + 10)).toBe(revision);
      expect((await store.find(['a'], T0 + 10)).get('a')).toEqual(session('a', '8.8.8.8', '6.0.0', T0 + 10));
    });

    it('keeps the newest sighting when one call lists a session several times', async () => {
      await store.upsert(
        [
          session('a', '8.8.8.8', '6.0.0', T0 + 5),
          session('a', '1.1.1.1', '6.1.0', T0 + 7),
          session('a', '9.9.9.9', '6.2.0', T0 + 6),
        ],
        T0 + 7,
      );
      expect(await snapshot(T0 + 7)).toMatchObject({
        totalCount: 1,
        sessionsByIp: { '1.1.1.1': 1 },
        sessionsByVersion: { '6.1.0': 1 },
      });
    });

    it('lets the latest of equal sighting times decide the IP and version', async () => {
      await store.upsert([session('a', '8.8.8.8', '6.0.0', T0)], T0);
      await store.upsert([session('a', '1.1.1.1', '6.0.0', T0)], T0);
      expect(await snapshot(T0)).toMatchObject({ totalCount: 1, sessionsByIp: { '1.1.1.1': 1 } });
    });

    it('keeps the revision when a refresh changes only the time, and the refresh extends the session', async () => {
      await store.upsert([session('a', '8.8.8.8', '6.0.0', T0)], T0);
      const revision = await store.revision(T0);
      await store.upsert([session('a', '8.8.8.8', '6.0.0', T0 + 30_000)], T0 + 30_000);
      expect(await store.revision(T0 + 30_000)).toBe(revision);
      // Past the first sighting's expiry, the refresh keeps it active.
      expect((await snapshot(T0 + TTL_MS + 1000)).totalCount).toBe(1);
      expect((await snapshot(T0 + 30_000 + TTL_MS)).totalCount).toBe(0);
    });

    it('expires a session exactly ttl after it was last seen, leaving no empty counts', async () => {
      await store.upsert([session('a', '8.8.8.8', '6.0.0'), session('b', '1.1.1.1', '5.0.0', T0 + 1)], T0 + 1);
      expect((await snapshot(T0 + TTL_MS - 1)).totalCount).toBe(2);
      expect(await snapshot(T0 + TTL_MS)).toMatchObject({
        totalCount: 1,
        sessionsByIp: { '1.1.1.1': 1 },
        sessionsByVersion: { '5.0.0': 1 },
      });
      expect(await snapshot(T0 + TTL_MS + 1)).toMatchObject({ totalCount: 0, sessionsByIp: {}, sessionsByVersion: {} });
      expect((await store.find(['a', 'b'], T0 + TTL_MS + 1)).size).toBe(0);
    });

    it('ignores a sighting that is already older than the ttl', async () => {
      const revision = await store.revision(T0);
      await store.upsert([session('a', '8.8.8.8', '6.0.0', T0 - TTL_MS)], T0);
      expect(await store.revision(T0)).toBe(revision);
      expect((await snapshot(T0)).totalCount).toBe(0);
    });

    it('counts a session again when it comes back after expiring', async () => {
      await store.upsert([session('a', '8.8.8.8', '6.0.0', T0)], T0);
      expect((await snapshot(T0 + TTL_MS)).totalCount).toBe(0);
      await store.upsert([session('a', '8.8.8.8', '6.0.0', T0 + TTL_MS)], T0 + TTL_MS);
      expect(await snapshot(T0 + TTL_MS)).toMatchObject({ totalCount: 1, sessionsByIp: { '8.8.8.8': 1 } });
    });

    it('removes sessions by id and ignores unknown ids', async () => {
      await store.upsert([session('a', '8.8.8.8', '6.0.0'), session('b', '8.8.8.8', '5.0.0')], T0);
      await store.remove(['a', 'unknown'], T0);
      expect(await snapshot(T0)).toMatchObject({
        totalCount: 1,
        sessionsByIp: { '8.8.8.8': 1 },
        sessionsByVersion: { '5.0.0': 1 },
      });
      const revision = await store.revision(T0);
      await store.remove(['a', 'unknown'], T0);
      expect(await store.revision(T0)).toBe(revision);
      await store.upsert([session('a', '1.1.1.1', '6.0.0')], T0);
      expect((await snapshot(T0)).totalCount).toBe(2);
    });

    it('finds the active sessions among the given ids', async () => {
      await store.upsert(
        [session('old', '8.8.8.8', '6.0.0', T0), session('new', '2001:db8::1', '5.5.0-beta+7', T0 + 5000)],
        T0 + 5000,
      );
      const found = await store.find(['old', 'new', 'unknown'], T0 + TTL_MS + 1);
      expect([...found.keys()]).toEqual(['new']);
      expect(found.get('new')).toEqual(session('new', '2001:db8::1', '5.5.0-beta+7', T0 + 5000));
      expect((await store.find([], T0)).size).toBe(0);
    });

    it('keeps any version text intact, separators included', async () => {
      const version = 'build|42|release candidate: "x"';
      await store.upsert([session('a', '8.8.8.8', version)], T0);
      expect((await snapshot(T0)).sessionsByVersion).toEqual({ [version]: 1 });
      expect((await store.find(['a'], T0)).get('a')?.clientVersion).toBe(version);
    });

    it('changes the revision on every change of the figures, and only then', async () => {
      const seen = new Set<string>();
      const expectNewRevision = async (now: number) => {
        const revision = await store.revision(now);
        expect(seen.has(revision)).toBe(false);
        seen.add(revision);
        expect((await store.aggregates(now)).revision).toBe(revision);
      };
      await expectNewRevision(T0);
      await store.upsert([session('a', '8.8.8.8', '6.0.0')], T0);
      await expectNewRevision(T0); // insert
      await store.upsert([session('a', '1.1.1.1', '6.0.0', T0 + 1)], T0 + 1);
      await expectNewRevision(T0 + 1); // IP changed
      await store.upsert([session('a', '1.1.1.1', '6.0.1', T0 + 2)], T0 + 2);
      await expectNewRevision(T0 + 2); // version changed
      await store.upsert([session('b', '1.1.1.1', '6.0.1', T0 + 3)], T0 + 3);
      await expectNewRevision(T0 + 3);
      await store.remove(['b'], T0 + 3);
      await expectNewRevision(T0 + 3); // removed
      expect(await store.revision(T0 + 4)).toBe(await store.revision(T0 + 5)); // nothing happened
      await expectNewRevision(T0 + 2 + TTL_MS); // expired
    });

    it('answers every reader alike: reading changes nothing another reader is told', async () => {
      await store.upsert([session('a', '8.8.8.8', '6.0.0')], T0);
      const first = await store.aggregates(T0);
      await store.upsert([session('b', '1.1.1.1', '6.0.0'), session('c', '8.8.4.4', '5.0.0')], T0);
      await store.remove(['a'], T0);
      const hostRead = await snapshot(T0); // another reader, e.g. host code holding SESSION_STORE
      const dashboardRead = await snapshot(T0);
      expect(dashboardRead).toEqual(hostRead);
      expect(dashboardRead.sessionsByIp).toEqual({ '1.1.1.1': 1, '8.8.4.4': 1 });
      // The module's stores name the IPs changed since any earlier answer, to every reader that asks.
      expect(typeof store.changedIpsSince).toBe('function');
      const changed = () => [...(store.changedIpsSince!(first.changePosition!) ?? ['unknown'])].sort();
      expect(changed()).toEqual(['1.1.1.1', '8.8.4.4', '8.8.8.8']);
      expect(changed()).toEqual(['1.1.1.1', '8.8.4.4', '8.8.8.8']);
      const latest = await store.aggregates(T0);
      expect([...(store.changedIpsSince!(latest.changePosition!) ?? ['unknown'])]).toEqual([]);
    });

    it('stays consistent under many concurrent upserts and one large batch', async () => {
      const calls = Array.from({ length: 300 }, (_, i) =>
        store.upsert([session(`s${i % 200}`, `10.0.${i % 7}.1`, `6.${i % 3}.0`, T0 + i)], T0 + i),
      );
      await Promise.all(calls);
      const large = Array.from({ length: 2500 }, (_, i) => session(`big${i}`, '8.8.8.8', '7.0.0', T0 + 400));
      await store.upsert(large, T0 + 400);
      const figures = await snapshot(T0 + 400);
      expect(figures.totalCount).toBe(2700);
      expect(figures.sessionsByIp['8.8.8.8']).toBe(2500);
      expect(sum(figures.sessionsByIp)).toBe(2700);
      expect(sum(figures.sessionsByVersion)).toBe(2700);
      // s0..s99 were last seen in the second round (i >= 200), s100..s199 only in the first.
      expect((await store.find(['s5'], T0 + 400)).get('s5')?.seenAt).toBe(T0 + 205);
    });

    it('expires a mass of sessions seen together in one read', async () => {
      const sessions = Array.from({ length: 25_000 }, (_, i) => session(`m${i}`, `10.${i % 250}.0.1`, '6.0.0'));
      await store.upsert(sessions, T0);
      expect((await snapshot(T0)).totalCount).toBe(25_000);
      expect(await snapshot(T0 + TTL_MS)).toMatchObject({ totalCount: 0, sessionsByIp: {}, sessionsByVersion: {} });
    });
  });
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}
