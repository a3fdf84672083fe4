import type { Cluster, Redis } from 'ioredis';
import type { ResolvedStatsOptions } from '../stats-options.validation';
import { MemorySessionStore } from './memory-session.store';
import { RedisSessionStore } from './redis/redis-session.store';
import type { SessionStore } from './session-store.interface';

/** The host's own store if it gave one; else Redis when configured; otherwise sessions live in this process. */
export async function createSessionStore(options: ResolvedStatsOptions): Promise<SessionStore> {
  const { store, ttlSeconds, redis } = options.sessions;
  if (store) return store;
  if (redis) {
    const redisStore = new RedisSessionStore({
      url: redis.url || undefined,
      client: redis.client as Redis | Cluster | undefined,
      keyPrefix: redis.keyPrefix,
      shards: redis.shards,
      waitForReplicas: redis.waitForReplicas,
      commandTimeoutMs: redis.commandTimeoutMs,
      ttlSeconds,
    });
    await redisStore.connected();
    return redisStore;
  }
  return new MemorySessionStore(ttlSeconds);
}
