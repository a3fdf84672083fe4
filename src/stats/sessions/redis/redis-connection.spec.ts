import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { deleteKeys, TEST_REDIS_URL, uniqueKeyPrefix } from '../../../../test/support/redis';
import { RedisProxy } from '../../../../test/support/redis-proxy';
import { eventually } from '../../../../test/support/eventually';
import { StatsConfigurationError } from '../../errors/stats-configuration.error';
import { StoreUnavailableError } from '../../errors/store-unavailable.error';
import { RedisSessionStore, type RedisSessionStoreOptions } from './redis-session.store';

/** The Redis store's checks of its options and what its errors say while Redis cannot be reached. */
const runPrefix = uniqueKeyPrefix('connection');
const T0 = 1_700_000_000_000;
const SESSION = { id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: T0 };
const ioredisSays = /Stream isn't writeable|enableOfflineQueue|Connection is closed/;

const stores: RedisSessionStore[] = [];
function createStore(overrides: Partial<RedisSessionStoreOptions>): RedisSessionStore {
  const store = new RedisSessionStore({
    url: TEST_REDIS_URL,
    keyPrefix: `${runPrefix}${stores.length}:`,
    commandTimeoutMs: 500,
    ttlSeconds: 60,
    ...overrides,
  });
  stores.push(store);
  return store;
}

/** The error `call` rejects with. */
async function failure(call: () => Promise<unknown>): Promise<StoreUnavailableError> {
  const error = await call().then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(StoreUnavailableError);
  return error as StoreUnavailableError;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.onApplicationShutdown()));
  jest.restoreAllMocks();
});

afterAll(async () => {
  const admin = new Redis(TEST_REDIS_URL);
  await deleteKeys(admin, runPrefix);
  await admin.quit();
});

describe('RedisSessionStore options', () => {
  it.each(['app:iso:{store}:', 'app:{tenant}:', 'app:}'])(
    'refuses the key prefix %p, naming the option',
    (keyPrefix) => {
      let thrown: unknown;
      try {
        createStore({ keyPrefix });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(StatsConfigurationError);
      expect((thrown as StatsConfigurationError).option).toBe('sessions.redis.keyPrefix');
      expect((thrown as StatsConfigurationError).message).toContain('must not contain "{" or "}"');
    },
  );

  it('keeps the keys of distinct prefixes apart, one a prefix of the other', async () => {
    const short = createStore({ keyPrefix: `${runPrefix}iso:` });
    const long = createStore({ keyPrefix: `${runPrefix}iso:store:` });
    await Promise.all([short.connected(), long.connected()]);
    await short.upsert([SESSION], T0);
    expect((await short.aggregates(T0)).totalCount).toBe(1);
    expect((await long.aggregates(T0)).totalCount).toBe(0);
    expect(await long.find(['s1'], T0)).toEqual(new Map());
  });

  it('refuses a client that has only some of the methods of an ioredis client, saying which are missing', () => {
    const duck = { defineCommand() {}, hmget() {} };
    expect(() => createStore({ url: undefined, client: duck as never })).toThrow(
      /"sessions\.redis\.client" must be an ioredis Redis or Cluster instance .*without isCluster, status, ping, on, once/,
    );
  });
});

describe('RedisSessionStore while Redis cannot be reached', () => {
  let proxy: RedisProxy;
  let errors: jest.SpyInstance;

  beforeEach(async () => {
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    proxy = new RedisProxy(new URL(TEST_REDIS_URL));
    await proxy.start();
  });

  afterEach(async () => {
    await proxy.stop();
  });

  it('gives the connection error as the cause of every failure, from start-up on', async () => {
    await proxy.stop(); // a closed port
    const port = new URL(proxy.url).port;
    const store = createStore({ url: proxy.url });
    await store.connected();

    const calls: Array<() => Promise<unknown>> = [
      () => store.upsert([SESSION], T0),
      () => store.remove(['s1'], T0),
      () => store.revision(T0),
      () => store.aggregates(T0),
      () => store.find(['s1'], T0),
      () => store.ping(),
    ];
    for (const call of calls) {
      const error = await failure(call);
      expect(error.message).toBe('Session store unavailable. Try again later.');
      expect((error.cause as Error).message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    }
    expect(String(errors.mock.calls[0][0])).toBe(
      `Redis session store: connect ECONNREFUSED 127.0.0.1:${port}; retrying in the background`,
    );
  });

  it('names every address that refused when the host name has several (an AggregateError has no message)', async () => {
    await proxy.stop();
    const store = createStore({ url: proxy.url });
    await store.connected();
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    // What Node's net gives for `localhost` resolving to ::1 and 127.0.0.1, as ioredis reports it.
    (store as unknown as { connection: { client: Redis } }).connection.client.emit(
      'error',
      Object.assign(new AggregateError([refused('::1:6399'), refused('127.0.0.1:6399')], ''), { code: 'ECONNREFUSED' }),
    );
    const error = await failure(() => store.ping());
    expect((error.cause as Error).message).toBe('connect ECONNREFUSED ::1:6399; connect ECONNREFUSED 127.0.0.1:6399');
  });

  it('gives the connection error once Redis went away, and works again once it is back', async () => {
    const store = createStore({ url: proxy.url });
    await store.connected();
    await store.upsert([SESSION], T0);
    await proxy.stop();

    // Until the first reconnection fails, ioredis knows only that the connection closed.
    const cause = await eventually(async () => {
      const error = await failure(() => store.ping());
      const message = (error.cause as Error).message;
      if (ioredisSays.test(message)) throw new Error(`still ${message}`);
      return message;
    }, 5000);
    expect(cause).toBe(`connect ECONNREFUSED 127.0.0.1:${new URL(proxy.url).port}`);

    await proxy.start();
    await eventually(() => store.ping(), 8000);
    expect((await store.aggregates(T0)).totalCount).toBe(1);
  });
});
