import { hash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';

/** Enough shards for a few masters to share the store evenly (see the README's capacity model). */
export const DEFAULT_SHARDS = 16;
/** Hash slots of a Redis Cluster; every key of a shard sits in one of them. */
const SLOTS = 16384;
/** Small hashes that hold a shard's sessions; small enough for Redis's compact encoding up to millions of sessions. */
export const SESSION_BUCKETS = 1024;
/** Small hashes that hold a shard's per-IP counts. */
export const IP_BUCKETS = 1024;
/** Part of every key name: a store of another layout ignores these keys rather than misreading them. */
const LAYOUT = 'v3';

/** The keys of one shard. Every key shares the shard's hash tag, so its scripts run on one node. */
export interface ShardKeys {
  readonly index: number;
  /** meta hash (revision, tag of the latest change), expiry ZSET, per-version counts, change feed stream. */
  readonly keys: readonly [meta: string, expiry: string, versions: string, feed: string];
  /** Prefix of the shard's bucket keys (`s:<n>` sessions, `i:<n>` per-IP counts). */
  readonly bucketBase: string;
}

/**
 * Where a store's keys live: `shards` groups of keys, each under a hash tag picked so that the
 * shards' slots spread evenly over the slot space, which Redis Cluster hands out to its masters in
 * ranges. The shard count is part of every key name: stores with different counts never share keys.
 */
export class RedisLayout {
  readonly shards: readonly ShardKeys[];

  constructor(keyPrefix: string, shardCount: number) {
    this.shards = Array.from({ length: shardCount }, (_, index) => {
      const base = `${keyPrefix}{${shardTag(index, shardCount)}}:${LAYOUT}n${shardCount}:`;
      return {
        index,
        keys: [`${base}meta`, `${base}expiry`, `${base}versions`, `${base}feed`] as const,
        bucketBase: base,
      };
    });
  }

  /** The shard of a session field (see {@link sessionField}). */
  shardOf(field: string): ShardKeys {
    const value =
      ((field.charCodeAt(4) * 31 + field.charCodeAt(5)) * 31 + field.charCodeAt(6)) * 31 + field.charCodeAt(7);
    return this.shards[value % this.shards.length];
  }
}

/**
 * The field a session is stored under: 12 characters of the SHA-1 of its id (72 bits), so every
 * session costs the same few bytes in Redis whatever the length of its id (up to 256 characters).
 */
export function sessionField(id: string): string {
  return hash('sha1', id, 'base64url').slice(0, 12);
}

/** The session bucket of a field; the scripts compute the same (see SESSION_BUCKET in the Lua prelude). */
export function sessionBucket(field: string): number {
  return (
    (((field.charCodeAt(0) * 31 + field.charCodeAt(1)) * 31 + field.charCodeAt(2)) * 31 + field.charCodeAt(3)) %
    SESSION_BUCKETS
  );
}

/** The first tag `s<i>-<n>` whose slot falls in the i-th of `count` equal ranges of the slot space. */
function shardTag(index: number, count: number): string {
  const low = Math.floor((index * SLOTS) / count);
  const high = Math.floor(((index + 1) * SLOTS) / count);
  for (let n = 0; ; n++) {
    const tag = `s${index}-${n}`;
    const slot = calculateSlot(tag);
    if (slot >= low && slot < high) return tag;
  }
}
