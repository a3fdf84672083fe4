import { createServer, type AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import calculateSlot from 'cluster-key-slot';
import Redis from 'ioredis';
import { deleteKeys, TEST_REDIS_URL, uniqueKeyPrefix } from '../../../../test/support/redis';
import { RedisProxy } from '../../../../test/support/redis-proxy';
import { hasRedisServer, PrivateRedisServer } from '../../../../test/support/redis-server';
import { eventually } from '../../../../test/support/eventually';
import { StoreOutcomeUnknownError } from '../../errors/store-outcome-unknown.error';
import { StoreUnavailableError } from '../../errors/store-unavailable.error';
import { describeSessionStoreContract } from '../session-store.contract';
import type { SessionAggregates, StoredSession } from '../session-store.interface';
import { RedisSessionStore, type RedisSessionStoreOptions } from './redis-session.store';

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
    shards: 16,
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

describeSessionStoreContract(
  'RedisSessionStore with one shard',
  (ttlSeconds) => connectedStore({ ttlSeconds, shards: 1 }),
  (store) => (store as RedisSessionStore).onApplicationShutdown(),
);

const T0 = 1_700_000_000_000;
const session = (id: string, ip = '8.8.8.8', clientVersion = '6.0.0', seenAt = T0): StoredSession => ({
  id,
  ip,
  clientVersion,
  seenAt,
});

/** `count` sessions, one per IP, all different: 20.<a>.<b>.<c>. */
const manyIps = (count: number, from = 0, id = 's', seenAt = T0) =>
  Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return session(`${id}${n}`, `20.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, `6.${n % 3}.0`, seenAt);
  });

/** What a dashboard shows of the store: comparable with toEqual. */
const figuresOf = (aggregates: SessionAggregates) => ({
  totalCount: aggregates.totalCount,
  sessionsByIp: Object.fromEntries([...aggregates.sessionsByIp].sort()),
  sessionsByVersion: Object.fromEntries([...aggregates.sessionsByVersion].sort()),
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

  /** The figures a new instance reads: the reference an instance that read before must agree with. */
  const freshFigures = async (keyPrefix: string, now: number, url = TEST_REDIS_URL) =>
    figuresOf(await track(await connectedStore({ keyPrefix, url })).aggregates(now));

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

    it('adds up the counts of one IP kept in several shards', async () => {
      await a.upsert(
        Array.from({ length: 200 }, (_, i) => session(`same-ip-${i}`, '8.8.4.4', `6.${i % 2}.0`)),
        T0,
      );
      expect(figuresOf(await b.aggregates(T0))).toEqual({
        totalCount: 200,
        sessionsByIp: { '8.8.4.4': 200 },
        sessionsByVersion: { '6.0.0': 100, '6.1.0': 100 },
      });
      await a.remove(
        Array.from({ length: 50 }, (_, i) => `same-ip-${i}`),
        T0,
      );
      expect(Object.fromEntries((await b.aggregates(T0)).sessionsByIp)).toEqual({ '8.8.4.4': 150 });
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
        expect(figuresOf(await store.aggregates(later))).toEqual({
          totalCount: 1,
          sessionsByIp: { '1.1.1.1': 1 },
          sessionsByVersion: { '6.0.0': 1 },
        });
      }
    });

    it('stays consistent when both instances upsert the same sessions concurrently', async () => {
      const rounds = Array.from({ length: 20 }, (_, round) =>
        (round % 2 ? a : b).upsert(
          Array.from({ length: 100 }, (_, i) =>
            session(`s${i}`, `10.0.0.${round % 4}`, `6.${round % 3}.0`, T0 + round),
          ),
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

  describe('keys', () => {
    it('writes only keys under its prefix, spread over one hash slot per shard, each living a minute past the last session', async () => {
      const keyPrefix = `${runPrefix}keys${++storeCount}:`;
      const store = track(await connectedStore({ keyPrefix, ttlSeconds: 30 }));
      const now = Date.now();
      await store.upsert(manyIps(2000, 0, 'k', now), now);
      const keys = await admin.keys(`${keyPrefix}*`);
      expect(keys.length).toBeGreaterThan(16 * 4);
      const slots = new Set(keys.map((key) => calculateSlot(key)));
      expect(slots.size).toBe(16);
      // The slots spread evenly: one in each sixteenth of the slot space, as a cluster's masters own ranges of it.
      expect([...slots].map((slot) => Math.floor(slot / 1024)).sort((x, y) => x - y)).toEqual([...Array(16).keys()]);
      for (const key of keys) {
        expect(key.startsWith(keyPrefix)).toBe(true);
        const ttl = await admin.pttl(key);
        expect(ttl).toBeGreaterThan(80_000);
        expect(ttl).toBeLessThanOrEqual(90_000);
      }
    });

    it('never shares keys between shard counts, nor between prefixes', async () => {
      const keyPrefix = `${runPrefix}layout${++storeCount}:`;
      const sixteen = track(await connectedStore({ keyPrefix, shards: 16 }));
      const four = track(await connectedStore({ keyPrefix, shards: 4 }));
      const other = track(await connectedStore({ keyPrefix: `${keyPrefix}x:`, shards: 16 }));
      await sixteen.upsert([session('a'), session('b')], T0);
      await four.upsert([session('c')], T0);
      expect((await sixteen.aggregates(T0)).totalCount).toBe(2);
      expect((await four.aggregates(T0)).totalCount).toBe(1);
      expect((await other.aggregates(T0)).totalCount).toBe(0);
    });
  });

  describe('change feed', () => {
    const upsertAll = async (store: RedisSessionStore, sessions: StoredSession[]) => {
      for (let i = 0; i < sessions.length; i += 10_000) await store.upsert(sessions.slice(i, i + 10_000), T0);
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

    it('reads more changes than one page holds, whole and in one answer', async () => {
      const store = track(await connectedStore());
      const before = await store.aggregates(T0);
      const sessions = manyIps(45_000);
      for (let i = 0; i < sessions.length; i += 500) await store.upsert(sessions.slice(i, i + 500), T0); // many feed entries
      const figures = await store.aggregates(T0);
      expect(figures.totalCount).toBe(45_000);
      expect(figures.sessionsByIp.size).toBe(45_000);
      expect(changedBetween(store, before)!.size).toBe(45_000);
      expect(figures.revision).toBe(await store.revision(T0));

      // A new instance reads a snapshot of every shard.
      const other = track(
        await connectedStore({
          keyPrefix: (
            store as unknown as { layout: { shards: { bucketBase: string }[] } }
          ).layout.shards[0].bucketBase.split('{')[0],
        }),
      );
      const read = await other.aggregates(T0);
      expect(figuresOf(read)).toEqual(figuresOf(figures));
    });

    it('answers "unknown", for a full comparison, past 50,000 changed IPs', async () => {
      const store = track(await connectedStore());
      const before = await store.aggregates(T0);
      await upsertAll(store, manyIps(50_001));
      const figures = await store.aggregates(T0);
      expect(changedBetween(store, before)).toBeUndefined();
      expect(figures.sessionsByIp.size).toBe(50_001);
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

    it('reads a snapshot when the entries it read last were trimmed from the feed, and is right', async () => {
      const keyPrefix = `${runPrefix}trim${++storeCount}:`;
      const store = track(await connectedStore({ keyPrefix }));
      await store.upsert(manyIps(300), T0);
      const earlier = await store.aggregates(T0);
      await store.upsert(manyIps(100, 300), T0);
      for (const key of await admin.keys(`${keyPrefix}*feed`)) await admin.xtrim(key, 'MAXLEN', 0);
      const figures = await store.aggregates(T0);
      expect(changedBetween(store, earlier)).toBeUndefined();
      expect(figures.totalCount).toBe(400);
      expect(figuresOf(figures)).toEqual(await freshFigures(keyPrefix, T0));
    });
  });

  describe('integrity when Redis loses or rolls back data', () => {
    let keyPrefix: string;
    let reader: RedisSessionStore;
    let writer: RedisSessionStore;

    beforeEach(async () => {
      keyPrefix = `${runPrefix}integrity${++storeCount}:`;
      reader = track(await connectedStore({ keyPrefix }));
      writer = track(await connectedStore({ keyPrefix }));
      await writer.upsert(manyIps(500), T0);
      await reader.aggregates(T0);
    });

    /**
     * The reader agrees with a new instance now, and after more changes. `newFirst`: the new
     * instance reads first, for a loss that only a snapshot reveals.
     */
    const expectAgreement = async (newFirst = false) => {
      if (newFirst) {
        const fresh = await freshFigures(keyPrefix, T0);
        expect(figuresOf(await reader.aggregates(T0))).toEqual(fresh);
      } else {
        expect(figuresOf(await reader.aggregates(T0))).toEqual(await freshFigures(keyPrefix, T0));
      }
      await writer.upsert([...manyIps(50, 1000, 'more'), session('s1', '1.2.3.4')], T0);
      await writer.remove(['s2', 's3'], T0);
      expect(figuresOf(await reader.aggregates(T0))).toEqual(await freshFigures(keyPrefix, T0));
    };

    it('agrees with a new instance after a rollback to older data at the same revisions', async () => {
      // Dump every key (a snapshot), change more (the reader reads it), restore the dump, change something else.
      const keys = await admin.keys(`${keyPrefix}*`);
      const dumps = await Promise.all(keys.map(async (key) => [key, await admin.dumpBuffer(key)] as const));
      await writer.upsert(manyIps(100, 500, 'lost'), T0);
      await writer.remove(['s0', 's1'], T0);
      expect((await reader.aggregates(T0)).totalCount).toBe(598);
      await deleteKeys(admin, keyPrefix);
      for (const [key, dump] of dumps) await admin.restore(key, 0, dump!, 'REPLACE');
      // New writes reach the revisions the lost ones had.
      await writer.upsert(manyIps(100, 700, 'new'), T0);
      await writer.remove(['s4', 's5'], T0);
      const figures = await reader.aggregates(T0);
      expect(figures.totalCount).toBe(598);
      expect(figuresOf(figures)).toEqual(await freshFigures(keyPrefix, T0));
      expect(figures.sessionsByIp.has('20.0.1.244')).toBe(false); // lost500 (index 500) is gone
      await expectAgreement();
    });

    it('agrees with a new instance after all of its keys are lost', async () => {
      await deleteKeys(admin, keyPrefix);
      await writer.upsert([session('again', '8.8.8.8')], T0);
      expect(figuresOf(await reader.aggregates(T0))).toEqual({
        totalCount: 1,
        sessionsByIp: { '8.8.8.8': 1 },
        sessionsByVersion: { '6.0.0': 1 },
      });
      await expectAgreement();
    });

    // Lost per-IP counts are only seen by a snapshot read (a new instance): the shard is cleared
    // then, and every instance reads it afresh.
    it.each([
      ['meta', false],
      ['expiry', false],
      ['versions', false],
      ['feed', false],
      ['s:', false],
      ['i:', true],
    ])('agrees with a new instance after keys named %s are lost', async (name, newFirst) => {
      const lost = (await admin.keys(`${keyPrefix}*`)).filter((key) =>
        key.slice(key.lastIndexOf('}')).includes(`:${name}`),
      );
      expect(lost.length).toBeGreaterThan(0);
      await admin.del(...lost.slice(0, 5));
      await writer.upsert([session('after-loss', '9.9.9.9')], T0);
      await expectAgreement(newFirst);
    });
  });

  it('sends the upserts made in the same turn of the event loop as one script call per shard', async () => {
    const client = new Redis(TEST_REDIS_URL);
    try {
      const store = track(createStore({ url: undefined, client }));
      const upsertScript = jest.spyOn(
        client as unknown as { statsSessionsUpsertV3: (...args: unknown[]) => unknown },
        'statsSessionsUpsertV3',
      );
      await Promise.all(Array.from({ length: 500 }, (_, i) => store.upsert([session(`s${i}`)], T0)));
      expect(upsertScript).toHaveBeenCalledTimes(16);
      expect((await store.aggregates(T0)).totalCount).toBe(500);
    } finally {
      client.disconnect();
    }
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

    it('fails at once while the client is not connected, sending nothing', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise((resolve) => closed.close(resolve));
      // A host's client on ioredis's defaults: it would queue commands until it connects.
      const client = new Redis({ host: '127.0.0.1', port });
      client.on('error', () => undefined);
      try {
        const store = createStore({ url: undefined, client, commandTimeoutMs: 2000 });
        for (const call of [() => store.upsert([session('x')], T0), () => store.revision(T0), () => store.ping()]) {
          const started = Date.now();
          await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
          expect(Date.now() - started).toBeLessThan(200);
        }
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
        // The connection never becomes ready: nothing is sent, so nothing can be applied later.
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

  (hasRedisServer ? describe : describe.skip)('on a Redis server of its own', () => {
    let server: PrivateRedisServer;

    afterEach(async () => {
      await server.dispose();
    });

    it('never applies a write that timed out while Redis hung, once Redis resumes', async () => {
      server = new PrivateRedisServer();
      await server.start();
      const store = track(await connectedStore({ url: server.url, commandTimeoutMs: 300 }));
      const now = Date.now();
      await store.upsert(manyIps(200, 0, 'before', now), now); // every shard has answered once
      server.pause();
      const failures = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.upsert([session(`during${i}`, '1.1.1.1', '6.0.0', now)], now).catch((error: unknown) => error),
        ),
      );
      expect(failures.every((failure) => failure instanceof StoreOutcomeUnknownError)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 500));
      server.resume();
      const figures = await eventually(() => store.aggregates(now), 5000);
      expect(figures.totalCount).toBe(200);
      expect(figures.sessionsByIp.has('1.1.1.1')).toBe(false);
    });

    it('with waitForReplicas, counts a touch as done only once the replica has it', async () => {
      server = new PrivateRedisServer();
      await server.start();
      const replica = new PrivateRedisServer({ replicaOf: server });
      await replica.start();
      try {
        const store = track(await connectedStore({ url: server.url, commandTimeoutMs: 400, waitForReplicas: 1 }));
        const now = Date.now();
        await eventually(() => store.upsert([session('synced', '8.8.8.8', '6.0.0', now)], now), 5000);
        replica.pause();
        const started = Date.now();
        const failure = await store
          .upsert([session('unconfirmed', '1.1.1.1', '6.0.0', now)], now)
          .catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(StoreOutcomeUnknownError);
        expect(Date.now() - started).toBeLessThan(1000);
        // The master did apply it: "unknown" is the honest answer, not "not stored".
        expect(Object.fromEntries((await store.aggregates(now)).sessionsByIp)).toEqual({ '8.8.8.8': 1, '1.1.1.1': 1 });
        replica.resume();
        await eventually(() => store.upsert([session('again', '9.9.9.9', '6.0.0', now)], now), 5000);
      } finally {
        await replica.dispose();
      }
    });

    it('agrees with a new instance after Redis restarts from an older RDB snapshot', async () => {
      server = new PrivateRedisServer({ snapshots: true });
      await server.start();
      const keyPrefix = `${runPrefix}rdb${++storeCount}:`;
      const reader = track(await connectedStore({ url: server.url, keyPrefix, commandTimeoutMs: 500 }));
      const writer = track(await connectedStore({ url: server.url, keyPrefix, commandTimeoutMs: 500 }));
      const now = Date.now();
      await writer.upsert(manyIps(300, 0, 'saved', now), now);
      const direct = new Redis(server.url);
      await direct.save();
      direct.disconnect();
      await writer.upsert(manyIps(100, 300, 'lost', now), now);
      expect((await reader.aggregates(now)).totalCount).toBe(400);

      await server.stop();
      await server.start(); // loads the snapshot: the last 100 sessions are gone
      await eventually(() => writer.ping(), 5000);
      await eventually(() => reader.ping(), 5000);
      await writer.upsert(manyIps(100, 500, 'new', now), now);
      const figures = await eventually(() => reader.aggregates(now), 5000);
      expect(figures.totalCount).toBe(400);
      expect(figuresOf(figures)).toEqual(await freshFigures(keyPrefix, now, server.url));
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

    it('fails every call within the bound with StoreUnavailableError, naming the cause, then recovers on its own', async () => {
      const store = track(await connectedStore({ url: proxy.url, commandTimeoutMs: 500 }));
      const client = (store as unknown as { connection: { client: Redis } }).connection.client;
      await store.upsert([session('x')], T0);
      const refused = new Promise((resolve) => client.once('error', resolve));
      await proxy.stop();
      await refused; // the client tried to reconnect and was refused: calls are refused before anything is sent

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
        // The connection's own problem, not ioredis's words about its stream.
        expect(((error as StoreUnavailableError).cause as Error).message).toMatch(/ECONNREFUSED/);
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
