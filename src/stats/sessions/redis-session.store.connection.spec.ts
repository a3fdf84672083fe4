import Redis from 'ioredis';
import { deleteKeys, TEST_REDIS_URL, uniqueKeyPrefix } from '../../../test/support/redis';
import { StatsConfigurationError } from '../errors/stats-configuration.error';
import { RedisSessionStore, type RedisSessionStoreOptions } from './redis-session.store';

/** The Redis store's checks of its options. */
const runPrefix = uniqueKeyPrefix('connection');
const T0 = 1_700_000_000_000;
const SESSION = { id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: T0 };

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

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.onApplicationShutdown()));
});

afterAll(async () => {
  const admin = new Redis(TEST_REDIS_URL);
  await deleteKeys(admin, runPrefix);
  await admin.quit();
});

describe('RedisSessionStore options', () => {
  it.each(['app:iso:{store}:', 'app:{tenant}:', 'app:}'])('refuses the key prefix %p, naming the option', (keyPrefix) => {
    let thrown: unknown;
    try {
      createStore({ keyPrefix });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StatsConfigurationError);
    expect((thrown as StatsConfigurationError).option).toBe('sessions.redis.keyPrefix');
    expect((thrown as StatsConfigurationError).message).toContain('must not contain "{" or "}"');
  });

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
