import { createServer, type AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { deleteKeys, TEST_REDIS_URL, uniqueKeyPrefix } from '../../../test/support/redis';
import { RedisProxy } from '../../../test/support/redis-proxy';
import { eventually } from '../../../test/support/eventually';
import { StatsConfigurationError } from '../errors/stats-configuration.error';
import { StoreUnavailableError } from '../errors/store-unavailable.error';
import { RedisSessionStore, type RedisSessionStoreOptions } from './redis-session.store';
import { describeSessionStoreContract } from './session-store.contract';
import type { SessionAggregates, StoredSession } from './session-store.interface';

const runPrefix = uniqueKeyPrefix('unit');
let admin: Redis;
let storeCount = 0;

beforeAll(() => {
  admin = new Redis(TEST_REDIS_URL, { lazyConnect: false });
});

afterAll(async () => {
  await deleteKeys(admin, runPrefix);
  await admin.quit();
});

function createStore(overrides: Partial<RedisSessionStoreOptions> = {}): RedisSessionStore {
  return new RedisSessionStore({
    url: TEST_REDIS_URL,
    keyPrefix: `${runPrefix}${++storeCount}:`,
    commandTimeoutMs: 2000,
    ttlSeconds: 60,
    ...overrides,
  });
}

async function connectedStore(overrides: Partial<RedisSessionStoreOptions> = {}): Promise<RedisSessionStore> {
  const store = createStore(overrides);
  await store.connected();
  return store;
}

describeSessionStoreContract(
  'RedisSessionStore',
  (ttlSeconds) => connectedStore({ ttlSeconds }),
  (store) => (store as RedisSessionStore).onApplicationShutdown(),
);

const T0 = 1_700_000_000_000;
const session = (id: string, ip = '8.8.8.8', clientVersion = '6.0.0', seenAt = T0): StoredSession => ({
  id,
  ip,
  clientVersion,
  seenAt,
});

describe('RedisSessionStore', () => {
  const stores: RedisSessionStore[] = [];
  const track = <T extends RedisSessionStore>(store: T): T => {
    stores.push(store);
    return store;
  };

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.onApplicationShutdown()));
  });

  describe('shared by several instances', () => {
    let keyPrefix: string;
    let a: RedisSessionStore;
    let b: RedisSessionStore;

    beforeEach(async () => {
      keyPrefix = `${runPrefix}shared${++storeCount}:`;
      a = track(await connectedStore({ keyPrefix }));
      b = track(await connectedStore({ keyPrefix }));
    });

    it('sees the sessions and the revision of the other instance', async () => {
      await a.upsert([session('x'), session('y', '1.1.1.1')], T0);
      expect(await b.revision(T0)).toBe(await a.revision(T0));
      expect((await b.aggregates(T0)).totalCount).toBe(2);
      await b.remove(['x'], T0);
      expect(Object.fromEntries((await a.aggregates(T0)).sessionsByIp)).toEqual({ '1.1.1.1': 1 });
    });

    it('expires each session once when both instances read at the same time', async () => {
      await a.upsert(
        Array.from({ length: 12_000 }, (_, i) => session(`s${i}`, `10.0.${i % 100}.1`)),
        T0,
      );
      await a.upsert([session('late', '1.1.1.1', '6.0.0', T0 + 1000)], T0 + 1000);
      const later = T0 + 60_000;
      await Promise.all([
        ...Array.from({ length: 5 }, () => a.revision(later)),
        ...Array.from({ length: 5 }, () => b.aggregates(later)),
      ]);
      for (const store of [a, b]) {
        const figures = await store.aggregates(later);
        expect(figures.totalCount).toBe(1);
        expect(Object.fromEntries(figures.sessionsByIp)).toEqual({ '1.1.1.1': 1 });
        expect(Object.fromEntries(figures.sessionsByVersion)).toEqual({ '6.0.0': 1 });
      }
    });

    it('stays consistent when both instances upsert the same sessions concurrently', async () => {
      const rounds = Array.from({ length: 20 }, (_, round) =>
        (round % 2 ? a : b).upsert(
          Array.from({ length: 100 }, (_, i) => session(`s${i}`, `10.0.0.${round % 4}`, `6.${round % 3}.0`, T0 + round)),
          T0 + round,
        ),
      );
      await Promise.all(rounds);
      const figures = await a.aggregates(T0 + 20);
      expect(figures.totalCount).toBe(100);
      // The last round (19) is the newest sighting of every session.
      expect(Object.fromEntries(figures.sessionsByIp)).toEqual({ '10.0.0.3': 100 });
      expect(Object.fromEntries(figures.sessionsByVersion)).toEqual({ '6.1.0': 100 });
    });

    it('keeps the sessions when an instance restarts', async () => {
      await a.upsert([session('x')], T0);
      const revision = await a.revision(T0);
      await a.onApplicationShutdown();
      const restarted = track(await connectedStore({ keyPrefix }));
      expect(await restarted.revision(T0)).toBe(revision);
      expect((await restarted.find(['x'], T0)).get('x')).toEqual(session('x'));
    });
  });

  it('writes only keys under its prefix, and lets them expire a minute after the last session would', async () => {
    const keyPrefix = `${runPrefix}keys${++storeCount}:`;
    const store = track(await connectedStore({ keyPrefix, ttlSeconds: 30 }));
    await store.upsert([session('x', '8.8.8.8', '6.0.0', Date.now()), session('y', '1.1.1.1', '6.0.0', Date.now())], Date.now());
    await store.remove(['y'], Date.now()); // leaves a tombstone for 1.1.1.1 in the change feed
    const keys = await admin.keys(`${keyPrefix}*`);
    expect(keys.sort()).toEqual(
      ['by-ip', 'by-version', 'changes', 'expiry', 'gone', 'meta', 'sessions'].map(
        (name) => `${keyPrefix}{store}:v2:${name}`,
      ),
    );
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(80_000);
      expect(ttl).toBeLessThanOrEqual(90_000);
    }
  });

  it('starts a new revision sequence when Redis lost its data', async () => {
    const keyPrefix = `${runPrefix}lost${++storeCount}:`;
    const store = track(await connectedStore({ keyPrefix }));
    await store.upsert([session('x')], T0);
    const before = await store.revision(T0);
    await deleteKeys(admin, keyPrefix);
    await store.upsert([session('y')], T0);
    expect(await store.revision(T0)).not.toBe(before);
  });

  describe('change feed', () => {
    /** `count` sessions, one per IP, all different: 20.<a>.<b>.<c>. */
    const manyIps = (count: number, from = 0, id = 's') =>
      Array.from({ length: count }, (_, i) => {
        const n = from + i;
        return session(`${id}${n}`, `20.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
      });
    const upsertAll = async (store: RedisSessionStore, sessions: StoredSession[]) => {
      for (let i = 0; i < sessions.length; i += 10_000) await store.upsert(sessions.slice(i, i + 10_000), T0);
    };
    const removeAll = async (store: RedisSessionStore, ids: string[]) => {
      for (let i = 0; i < ids.length; i += 10_000) await store.remove(ids.slice(i, i + 10_000), T0);
    };

    /** The IPs the store names as changed between two of its answers; undefined when it cannot. */
    const changedBetween = (store: RedisSessionStore, earlier: SessionAggregates) =>
      store.changedIpsSince(earlier.changePosition!);

    it('names only the IPs changed since an earlier read, by this instance or another one', async () => {
      const keyPrefix = `${runPrefix}feed${++storeCount}:`;
      const a = track(await connectedStore({ keyPrefix }));
      const b = track(await connectedStore({ keyPrefix }));
      await a.upsert([session('x', '8.8.8.8'), session('y', '1.1.1.1'), session('z', '9.9.9.9')], T0);
      const first = await b.aggregates(T0);
      expect(Object.fromEntries(first.sessionsByIp)).toEqual({ '8.8.8.8': 1, '1.1.1.1': 1, '9.9.9.9': 1 });

      await a.upsert([session('w', '8.8.8.8'), session('z', '9.9.9.9', '6.0.0', T0 + 5)], T0 + 5); // z: time only
      await a.remove(['y'], T0 + 5);
      const second = await b.aggregates(T0 + 5);
      expect([...changedBetween(b, first)!].sort()).toEqual(['1.1.1.1', '8.8.8.8']);
      expect(Object.fromEntries(second.sessionsByIp)).toEqual({ '8.8.8.8': 2, '9.9.9.9': 1 });
      expect(second.totalCount).toBe(3);

      const third = await b.aggregates(T0 + 5);
      expect(changedBetween(b, second)!.size).toBe(0);
      expect(third.revision).toBe(second.revision);
      // Reading consumed nothing: the changes since the first read are still named.
      expect([...changedBetween(b, first)!].sort()).toEqual(['1.1.1.1', '8.8.8.8']);
    });

    it('reads more changed IPs than one page holds, whole and in one answer', async () => {
      const store = track(await connectedStore());
      const before = await store.aggregates(T0);
      const sessions = manyIps(45_000);
      await upsertAll(store, sessions);
      const figures = await store.aggregates(T0);
      expect(figures.totalCount).toBe(45_000);
      expect(figures.sessionsByIp.size).toBe(45_000);
      expect(changedBetween(store, before)!.size).toBe(45_000);
      expect(figures.revision).toBe(await store.revision(T0));

      // A new instance reads everything from the feed, page after page.
      const other = track(await connectedStore({ keyPrefix: (store as unknown as { keys: string[] }).keys[0].split('{')[0] }));
      const read = await other.aggregates(T0);
      expect(read.sessionsByIp.size).toBe(45_000);
      expect([...read.sessionsByIp.values()].every((count) => count === 1)).toBe(true);
      expect(read.sessionsByIp.get(sessions[44_999].ip)).toBe(1);
    });

    it('answers "unknown", for a full comparison, past 50,000 changed IPs', async () => {
      const store = track(await connectedStore());
      const before = await store.aggregates(T0);
      await upsertAll(store, manyIps(50_001));
      const figures = await store.aggregates(T0);
      expect(changedBetween(store, before)).toBeUndefined();
      expect(figures.sessionsByIp.size).toBe(50_001);
    });

    it('forgets IPs without sessions beyond 100,000, and a reader behind that floor reads everything again', async () => {
      const keyPrefix = `${runPrefix}floor${++storeCount}:`;
      const store = track(await connectedStore({ keyPrefix }));
      const behind = track(await connectedStore({ keyPrefix }));
      await store.upsert([session('kept', '8.8.8.8')], T0);
      const earlier = await behind.aggregates(T0);

      const gone = manyIps(110_000);
      await upsertAll(store, gone);
      await removeAll(store, gone.map((s) => s.id));
      // Each script call forgets at most 5,000 tombstones: a few reads bring them down to the bound.
      for (let i = 0; i < 3; i++) await store.revision(T0);
      expect(await admin.zcard(`${keyPrefix}{store}:v2:gone`)).toBe(100_000);
      expect(await admin.zcard(`${keyPrefix}{store}:v2:changes`)).toBe(100_001);

      const caughtUp = await behind.aggregates(T0);
      expect(changedBetween(behind, earlier)).toBeUndefined(); // started again from nothing
      expect(Object.fromEntries(caughtUp.sessionsByIp)).toEqual({ '8.8.8.8': 1 });
      expect(caughtUp.totalCount).toBe(1);
    });

    it('starts again from nothing when Redis lost its data', async () => {
      const keyPrefix = `${runPrefix}lostfeed${++storeCount}:`;
      const store = track(await connectedStore({ keyPrefix }));
      await store.upsert([session('x', '8.8.8.8'), session('y', '1.1.1.1')], T0);
      const earlier = await store.aggregates(T0);
      await deleteKeys(admin, keyPrefix);
      await store.upsert([session('z', '9.9.9.9')], T0);
      const figures = await store.aggregates(T0);
      expect(changedBetween(store, earlier)).toBeUndefined();
      expect(Object.fromEntries(figures.sessionsByIp)).toEqual({ '9.9.9.9': 1 });
    });

    it('lets concurrent reads follow one another, and both name the change', async () => {
      const store = track(await connectedStore());
      const before = await store.aggregates(T0);
      await store.upsert([session('x', '8.8.8.8')], T0);
      const [first, second] = await Promise.all([store.aggregates(T0), store.aggregates(T0)]);
      expect(second.revision).toBe(first.revision);
      expect(second.changePosition).toBe(first.changePosition);
      expect([...changedBetween(store, before)!]).toEqual(['8.8.8.8']);
      expect(Object.fromEntries(second.sessionsByIp)).toEqual({ '8.8.8.8': 1 });
    });
  });

  it('stores ids and versions with any characters, a lone surrogate included, and finds them again', async () => {
    const store = track(await connectedStore());
    const ids = ['quote"back\\slash', 'line\nnull\u0000', 'é😀[],{}', 'lone\ud800surrogate'];
    await store.upsert(ids.map((id, i) => session(id, '8.8.8.8', `v"${i}|\u2028`)), T0);
    const found = await store.find(ids, T0);
    expect([...found.keys()]).toEqual(ids);
    expect(found.get(ids[0])!.clientVersion).toBe('v"0|\u2028');
    expect((await store.aggregates(T0)).totalCount).toBe(4);
  });

  it('sends the upserts made in the same turn of the event loop as one script call', async () => {
    const client = new Redis(TEST_REDIS_URL);
    try {
      const store = track(createStore({ url: undefined, client }));
      const upsertScript = jest.spyOn(client as unknown as { statsSessionsUpsert: (...args: unknown[]) => unknown }, "statsSessionsUpsert");
      await Promise.all(Array.from({ length: 500 }, (_, i) => store.upsert([session(`s${i}`)], T0)));
      expect(upsertScript).toHaveBeenCalledTimes(1);
      expect((await store.aggregates(T0)).totalCount).toBe(500);
    } finally {
      client.disconnect();
    }
  });

  it('rejects a client that is not an ioredis client', () => {
    expect(() => createStore({ url: undefined, client: {} as Redis })).toThrow(StatsConfigurationError);
  });

  describe('with a client of the host', () => {
    it('never closes it', async () => {
      const client = new Redis(TEST_REDIS_URL);
      try {
        const store = createStore({ url: undefined, client });
        await store.upsert([session('x')], T0);
        await store.onApplicationShutdown();
        expect(client.status).toBe('ready');
        expect(await client.ping()).toBe('PONG');
      } finally {
        client.disconnect();
      }
    });

    it('fails within the command timeout while Redis accepts the connection but never answers', async () => {
      const silent = createServer((socket) => socket.on('error', () => undefined).resume());
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as AddressInfo;
      // A host's client without a command timeout of its own: commands are sent and never answered.
      const client = new Redis({ host: '127.0.0.1', port, enableReadyCheck: false, maxRetriesPerRequest: null });
      client.on('error', () => undefined);
      try {
        const store = createStore({ url: undefined, client, commandTimeoutMs: 300 });
        const started = Date.now();
        await expect(store.revision(T0)).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.upsert([session('x')], T0)).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
        expect(Date.now() - started).toBeLessThan(1500);
      } finally {
        client.disconnect();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });

  describe('when Redis goes away', () => {
    let proxy: RedisProxy;
    let logged: jest.SpyInstance;

    beforeEach(async () => {
      logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      proxy = new RedisProxy(new URL(TEST_REDIS_URL));
      await proxy.start();
    });

    afterEach(async () => {
      await proxy.stop();
      jest.restoreAllMocks();
    });

    it('fails every call within the bound with StoreUnavailableError, then recovers on its own', async () => {
      const store = track(await connectedStore({ url: proxy.url, commandTimeoutMs: 500 }));
      await store.upsert([session('x')], T0);
      await proxy.stop();

      const calls: Array<() => Promise<unknown>> = [
        () => store.upsert([session('y')], T0),
        () => store.remove(['x'], T0),
        () => store.revision(T0),
        () => store.aggregates(T0),
        () => store.find(['x'], T0),
        () => store.ping(),
      ];
      for (const call of calls) {
        const started = Date.now();
        const error = await call().then(
          () => null,
          (failure: unknown) => failure,
        );
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect((error as StoreUnavailableError).getStatus()).toBe(503);
        expect(Date.now() - started).toBeLessThan(1000);
      }

      await proxy.start();
      const figures = await eventually(() => store.aggregates(T0), 8000);
      expect(figures.totalCount).toBe(1);
      // However often the client retried, the outage went to the log once.
      expect(logged).toHaveBeenCalledTimes(1);
      expect(String(logged.mock.calls[0][0])).toMatch(/^Redis session store: .*retrying in the background$/);
    });

    it('waits at start-up only up to the command timeout, then serves once Redis is there', async () => {
      await proxy.stop();
      const started = Date.now();
      const store = track(await connectedStore({ url: proxy.url, commandTimeoutMs: 300 }));
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await proxy.start();
      await eventually(() => store.ping(), 8000);
    });
  });
});
