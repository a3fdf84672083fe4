/** Keys per shard stay in the tens of thousands at a million entries. */
const SHARDS = 32;

/**
 * A Map split over several smaller ones. A JavaScript Map that grows past a power of two rehashes
 * every entry at once: at a million entries that stops the event loop for a quarter of a second.
 * Small shards rehash in a few milliseconds. Iteration goes shard by shard, not in insertion order.
 */
export class ShardedMap<V> implements ReadonlyMap<string, V> {
  private readonly shards: Map<string, V>[] = Array.from({ length: SHARDS }, () => new Map());
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return this.shards[shardOf(key)].get(key);
  }

  has(key: string): boolean {
    return this.shards[shardOf(key)].has(key);
  }

  set(key: string, value: V): this {
    const shard = this.shards[shardOf(key)];
    const before = shard.size;
    shard.set(key, value);
    this.count += shard.size - before;
    return this;
  }

  delete(key: string): boolean {
    const deleted = this.shards[shardOf(key)].delete(key);
    if (deleted) this.count--;
    return deleted;
  }

  clear(): void {
    for (const shard of this.shards) shard.clear();
    this.count = 0;
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [key, value] of this) callback(value, key, this);
  }

  *entries(): MapIterator<[string, V]> {
    for (const shard of this.shards) yield* shard.entries();
  }

  *keys(): MapIterator<string> {
    for (const shard of this.shards) yield* shard.keys();
  }

  *values(): MapIterator<V> {
    for (const shard of this.shards) yield* shard.values();
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}

/** A cheap hash of the last characters, where ids and IP addresses differ most. */
function shardOf(key: string): number {
  const length = key.length;
  let hash = length;
  for (let index = Math.max(0, length - 4); index < length; index++) hash = (hash * 31 + key.charCodeAt(index)) | 0;
  return (hash >>> 0) % SHARDS;
}
