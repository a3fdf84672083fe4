import { ShardedMap } from './sharded-map';

/**
 * Counts per key (IP address, client version) that holders refer to by a small integer, the key's
 * slot: a million sessions share one copy of each key and keep no object of their own, which is
 * far less for the garbage collector to walk. A key leaves when its count drops to zero, and its
 * slot is reused. Reads like a map of key to count.
 */
export class KeyCounts implements ReadonlyMap<string, number> {
  private readonly slots = new ShardedMap<number>();
  private keysBySlot: (string | undefined)[] = [];
  private counts = new Int32Array(1024);
  private readonly freeSlots: number[] = [];

  get size(): number {
    return this.slots.size;
  }

  /** Counts one more for `key`; answers its slot. `key` is the copy kept when it is new. */
  acquire(key: string): number {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.keysBySlot.length;
      if (slot === this.counts.length) this.counts = grow(this.counts);
      this.keysBySlot[slot] = key;
      this.counts[slot] = 0;
      this.slots.set(key, slot);
    }
    this.counts[slot]++;
    return slot;
  }

  /** Counts one less for the key in `slot`; answers whether it is gone. */
  release(slot: number): boolean {
    if (--this.counts[slot] > 0) return false;
    this.slots.delete(this.keysBySlot[slot]!);
    this.keysBySlot[slot] = undefined;
    this.freeSlots.push(slot);
    return true;
  }

  keyAt(slot: number): string {
    return this.keysBySlot[slot]!;
  }

  get(key: string): number | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.counts[slot];
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  forEach(callback: (count: number, key: string, map: ReadonlyMap<string, number>) => void): void {
    for (const [key, count] of this) callback(count, key, this);
  }

  *entries(): MapIterator<[string, number]> {
    for (const [key, slot] of this.slots) yield [key, this.counts[slot]];
  }

  keys(): MapIterator<string> {
    return this.slots.keys();
  }

  *values(): MapIterator<number> {
    for (const slot of this.slots.values()) yield this.counts[slot];
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }
}

/** A copy of `array` twice as long. */
export function grow<T extends Int32Array | Float64Array>(array: T): T {
  const grown = new (array.constructor as new (length: number) => T)(array.length * 2);
  grown.set(array);
  return grown;
}
