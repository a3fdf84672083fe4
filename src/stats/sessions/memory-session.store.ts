import type { OnModuleDestroy } from '@nestjs/common';
import { grow, KeyCounts } from '../common/key-counts';
import { KeyChangeLog } from '../common/key-change-log';
import { ShardedMap } from '../common/sharded-map';
import type { SessionAggregates, SessionStore, StoredSession } from './session-store.interface';

/**
 * Width of an expiry bucket. Narrow enough that the sweep of the bucket the cutoff falls in, which
 * walks all its sessions, stays short even when hundreds of thousands arrive per second.
 */
const BUCKET_MS = 100;
/** Sessions expired per slice before the sweep yields to the event loop. */
const SWEEP_SLICE = 20_000;
const SWEEP_INTERVAL_MS = 5_000;
/** Marks the end of a bucket's list of slots. */
const NONE = -1;

/**
 * The default store: sessions in this process, with the dashboard's counters updated on every
 * change rather than recomputed per request.
 *
 * A session is a slot in typed arrays (time seen, IP slot, version slot, expiry list links) rather
 * than an object: at a million sessions that spares the garbage collector a million objects and
 * their entries in expiry sets. IPs and versions are kept once each, with their counts, in
 * {@link KeyCounts}. Expiry files slots in doubly linked lists, one per BUCKET_MS of `seenAt`, so a
 * sweep only visits sessions that are due, whatever order they were seen in, and a refresh moves a
 * slot between lists without hashing. The large maps are sharded, so none of them stops the event
 * loop to rehash a million entries.
 */
export class MemorySessionStore implements SessionStore, OnModuleDestroy {
  private readonly slotsById = new ShardedMap<number>();
  private idsBySlot: (string | undefined)[] = [];
  private seenAt = new Float64Array(1024);
  private ipSlots = new Int32Array(1024);
  private versionSlots = new Int32Array(1024);
  /** Links of each slot in the list of its expiry bucket, the bucket of its `seenAt`. */
  private nextInBucket = new Int32Array(1024);
  private previousInBucket = new Int32Array(1024);
  private readonly freeSlots: number[] = [];
  /** First slot of each bucket's list; buckets are relative to `epochBucket` (small integers hash fastest). */
  private readonly bucketHeads = new Map<number, number>();
  private readonly epochBucket = Math.floor(Date.now() / BUCKET_MS);

  private readonly sessionsByIp = new KeyCounts();
  private readonly sessionsByVersion = new KeyCounts();
  private readonly ttlMs: number;
  private changes = 0;
  /** IPs in the order their counts changed, for readers that update only what changed. */
  private readonly changedIps = new KeyChangeLog();
  /** No bucket is older than this one. */
  private oldestBucket = Number.POSITIVE_INFINITY;
  private sweeping: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(ttlSeconds: number) {
    this.ttlMs = ttlSeconds * 1000;
    // Keeps memory bounded when nobody reads the dashboard; unref'd so it never holds the process.
    this.timer = setInterval(() => void this.expire(Date.now()), SWEEP_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async upsert(sessions: readonly StoredSession[], now: number): Promise<void> {
    const cutoff = now - this.ttlMs;
    for (const session of sessions) this.upsertOne(session, cutoff);
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const slot = this.slotsById.get(id);
      if (slot !== undefined) this.delete(slot);
    }
  }

  async revision(now: number): Promise<string> {
    await this.expire(now);
    return String(this.changes);
  }

  async aggregates(now: number): Promise<SessionAggregates> {
    await this.expire(now);
    return {
      revision: String(this.changes),
      totalCount: this.slotsById.size,
      sessionsByIp: this.sessionsByIp,
      sessionsByVersion: this.sessionsByVersion,
      changePosition: this.changedIps.position,
    };
  }

  changedIpsSince(position: number): ReadonlySet<string> | undefined {
    return this.changedIps.since(position);
  }

  async find(ids: readonly string[], now: number): Promise<Map<string, StoredSession>> {
    const cutoff = now - this.ttlMs;
    const found = new Map<string, StoredSession>();
    for (const id of ids) {
      const slot = this.slotsById.get(id);
      if (slot !== undefined && this.seenAt[slot] > cutoff) {
        found.set(id, {
          id,
          ip: this.sessionsByIp.keyAt(this.ipSlots[slot]),
          clientVersion: this.sessionsByVersion.keyAt(this.versionSlots[slot]),
          seenAt: this.seenAt[slot],
        });
      }
    }
    return found;
  }

  async ping(): Promise<void> {}

  /** Drops every session not seen since `now - ttl`, in slices so a mass expiry never blocks the loop. */
  expire(now: number): Promise<void> {
    if (this.oldestBucket > this.bucketOf(now - this.ttlMs)) return Promise.resolve(); // nothing due
    if (!this.sweeping) {
      this.sweeping = this.sweep(now).finally(() => (this.sweeping = null));
    }
    return this.sweeping;
  }

  private async sweep(now: number): Promise<void> {
    while (!this.sweepSlice(now - this.ttlMs)) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Expires up to one slice of sessions; true when nothing due is left. */
  private sweepSlice(cutoff: number): boolean {
    const lastDueBucket = this.bucketOf(cutoff);
    let budget = SWEEP_SLICE;
    for (let bucket = this.oldestBucket; bucket <= lastDueBucket; bucket++) {
      let slot = this.bucketHeads.get(bucket) ?? NONE;
      while (slot !== NONE) {
        const next = this.nextInBucket[slot];
        // The bucket of the cutoff itself is only partly due.
        if (this.seenAt[slot] <= cutoff) {
          this.delete(slot);
          if (--budget === 0) return false;
        }
        slot = next;
      }
      if (this.bucketHeads.has(bucket)) return true; // the rest of this bucket is not due yet
      this.oldestBucket = bucket + 1;
    }
    return true;
  }

  private upsertOne(session: StoredSession, cutoff: number): void {
    if (session.seenAt <= cutoff) return; // already expired: it is not active
    let slot = this.slotsById.get(session.id);
    if (slot !== undefined) {
      if (this.seenAt[slot] > session.seenAt) return; // the newest sighting wins
      this.refile(slot, session.seenAt);
      if (
        this.sessionsByIp.keyAt(this.ipSlots[slot]) === session.ip &&
        this.sessionsByVersion.keyAt(this.versionSlots[slot]) === session.clientVersion
      ) {
        return; // only the time moved: the dashboard is unchanged, so the revision is kept
      }
      this.uncount(slot);
    } else {
      slot = this.allocate(session.id);
      this.seenAt[slot] = session.seenAt;
      this.link(slot);
    }
    this.ipSlots[slot] = this.sessionsByIp.acquire(session.ip);
    this.changedIps.record(session.ip);
    this.versionSlots[slot] = this.sessionsByVersion.acquire(session.clientVersion);
    this.changes++;
  }

  private allocate(id: string): number {
    const slot = this.freeSlots.pop() ?? this.idsBySlot.length;
    if (slot === this.seenAt.length) this.growSlots();
    this.idsBySlot[slot] = id;
    this.slotsById.set(id, slot);
    return slot;
  }

  private growSlots(): void {
    this.seenAt = grow(this.seenAt);
    this.ipSlots = grow(this.ipSlots);
    this.versionSlots = grow(this.versionSlots);
    this.nextInBucket = grow(this.nextInBucket);
    this.previousInBucket = grow(this.previousInBucket);
  }

  /** Records a newer `seenAt`, moving the slot to the list of its new bucket when that changes. */
  private refile(slot: number, seenAt: number): void {
    if (this.bucketOf(seenAt) === this.bucketOf(this.seenAt[slot])) {
      this.seenAt[slot] = seenAt;
      return;
    }
    this.unlink(slot);
    this.seenAt[slot] = seenAt;
    this.link(slot);
  }

  /** Puts the slot first in the list of the bucket of its `seenAt`. */
  private link(slot: number): void {
    const bucket = this.bucketOf(this.seenAt[slot]);
    const head = this.bucketHeads.get(bucket) ?? NONE;
    this.nextInBucket[slot] = head;
    this.previousInBucket[slot] = NONE;
    if (head !== NONE) this.previousInBucket[head] = slot;
    this.bucketHeads.set(bucket, slot);
    if (bucket < this.oldestBucket) this.oldestBucket = bucket;
  }

  /** Takes the slot out of the list of the bucket of its `seenAt`. */
  private unlink(slot: number): void {
    const next = this.nextInBucket[slot];
    const previous = this.previousInBucket[slot];
    if (next !== NONE) this.previousInBucket[next] = previous;
    if (previous !== NONE) this.nextInBucket[previous] = next;
    else if (next !== NONE) this.bucketHeads.set(this.bucketOf(this.seenAt[slot]), next);
    else this.bucketHeads.delete(this.bucketOf(this.seenAt[slot]));
  }

  private delete(slot: number): void {
    this.slotsById.delete(this.idsBySlot[slot]!);
    this.idsBySlot[slot] = undefined;
    this.unlink(slot);
    this.uncount(slot);
    this.freeSlots.push(slot);
    this.changes++;
  }

  private uncount(slot: number): void {
    const ipSlot = this.ipSlots[slot];
    this.changedIps.record(this.sessionsByIp.keyAt(ipSlot));
    this.sessionsByIp.release(ipSlot);
    this.sessionsByVersion.release(this.versionSlots[slot]);
  }

  private bucketOf(time: number): number {
    return Math.floor(time / BUCKET_MS) - this.epochBucket;
  }
}
