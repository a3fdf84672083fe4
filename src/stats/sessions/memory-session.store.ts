import type { OnModuleDestroy } from '@nestjs/common';
import { ShardedMap } from '../common/sharded-map';
import type { SessionAggregates, SessionStore, StoredSession } from './session-store.interface';

interface Entry {
  ip: string;
  clientVersion: string;
  seenAt: number;
  /** Expiry bucket (`seenAt` in whole BUCKET_MS) the id is filed under. */
  bucket: number;
}

/**
 * Width of an expiry bucket. Narrow enough that a bucket stays small (a Set rehashes all its
 * entries at once when it grows) even when hundreds of thousands of sessions arrive per second.
 */
const BUCKET_MS = 100;
/** Past this many changed IPs between two dashboards, comparing them all is as cheap. */
const MAX_TRACKED_CHANGES = 50_000;

/** Sessions expired per slice before the sweep yields to the event loop. */
const SWEEP_SLICE = 20_000;
const SWEEP_INTERVAL_MS = 5_000;

/**
 * The default store: sessions in this process, with the dashboard's counters updated on every
 * change rather than recomputed per request. Expiry files sessions in buckets of BUCKET_MS of
 * `seenAt`, so a sweep only visits sessions that are due, whatever order they were seen in. The
 * large maps are sharded, so none of them stops the event loop to rehash a million entries.
 */
export class MemorySessionStore implements SessionStore, OnModuleDestroy {
  private readonly sessions = new ShardedMap<Entry>();
  private readonly idsByBucket = new Map<number, Set<string>>();
  private readonly sessionsByIp = new ShardedMap<number>();
  private readonly sessionsByVersion = new Map<string, number>();
  private readonly ttlMs: number;
  private changes = 0;
  /** IPs whose count changed since the last `aggregates` call; null when not known. */
  private changedIps: Set<string> | null = null;
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
      const entry = this.sessions.get(id);
      if (entry) this.delete(id, entry);
    }
  }

  async revision(now: number): Promise<string> {
    await this.expire(now);
    return String(this.changes);
  }

  async aggregates(now: number): Promise<SessionAggregates> {
    await this.expire(now);
    const changedIps = this.changedIps ?? undefined;
    this.changedIps = new Set();
    return {
      revision: String(this.changes),
      totalCount: this.sessions.size,
      sessionsByIp: this.sessionsByIp,
      sessionsByVersion: this.sessionsByVersion,
      changedIps,
    };
  }

  async find(ids: readonly string[], now: number): Promise<Map<string, StoredSession>> {
    const cutoff = now - this.ttlMs;
    const found = new Map<string, StoredSession>();
    for (const id of ids) {
      const entry = this.sessions.get(id);
      if (entry && entry.seenAt > cutoff) {
        found.set(id, { id, ip: entry.ip, clientVersion: entry.clientVersion, seenAt: entry.seenAt });
      }
    }
    return found;
  }

  async ping(): Promise<void> {}

  /** Drops every session not seen since `now - ttl`, in slices so a mass expiry never blocks the loop. */
  expire(now: number): Promise<void> {
    if (this.oldestBucket > Math.floor((now - this.ttlMs) / BUCKET_MS)) return Promise.resolve(); // nothing due
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
    const lastDueBucket = Math.floor(cutoff / BUCKET_MS);
    let budget = SWEEP_SLICE;
    for (let bucket = this.oldestBucket; bucket <= lastDueBucket; bucket++) {
      const ids = this.idsByBucket.get(bucket);
      if (ids) {
        for (const id of ids) {
          const entry = this.sessions.get(id)!;
          if (entry.seenAt > cutoff) continue; // the bucket of the cutoff itself is only partly due
          this.delete(id, entry);
          if (--budget === 0) return false;
        }
        if (ids.size > 0) return true; // the rest of this bucket is not due yet
      }
      this.oldestBucket = bucket + 1;
    }
    return true;
  }

  private upsertOne(session: StoredSession, cutoff: number): void {
    if (session.seenAt <= cutoff) return; // already expired: it is not active
    const entry = this.sessions.get(session.id);
    if (entry) {
      if (entry.seenAt > session.seenAt) return; // the newest sighting wins
      if (entry.ip === session.ip && entry.clientVersion === session.clientVersion) {
        // Only the time moved: the dashboard is unchanged, so the revision is kept.
        this.file(session.id, entry, session.seenAt);
        return;
      }
      this.delete(session.id, entry);
    }
    const added: Entry = { ip: session.ip, clientVersion: session.clientVersion, seenAt: 0, bucket: NaN };
    this.file(session.id, added, session.seenAt);
    this.sessions.set(session.id, added);
    increment(this.sessionsByIp, added.ip, 1);
    this.ipChanged(added.ip);
    increment(this.sessionsByVersion, added.clientVersion, 1);
    this.changes++;
  }

  /** Moves an entry to the expiry bucket of its new `seenAt`. */
  private file(id: string, entry: Entry, seenAt: number): void {
    const bucket = Math.floor(seenAt / BUCKET_MS);
    entry.seenAt = seenAt;
    if (bucket === entry.bucket) return;
    this.idsByBucket.get(entry.bucket)?.delete(id);
    let ids = this.idsByBucket.get(bucket);
    if (!ids) {
      ids = new Set();
      this.idsByBucket.set(bucket, ids);
    }
    ids.add(id);
    entry.bucket = bucket;
    if (bucket < this.oldestBucket) this.oldestBucket = bucket;
  }

  private ipChanged(ip: string): void {
    if (!this.changedIps) return;
    this.changedIps.add(ip);
    if (this.changedIps.size > MAX_TRACKED_CHANGES) this.changedIps = null;
  }

  private delete(id: string, entry: Entry): void {
    this.sessions.delete(id);
    const ids = this.idsByBucket.get(entry.bucket);
    if (ids) {
      ids.delete(id);
      if (ids.size === 0) this.idsByBucket.delete(entry.bucket);
    }
    increment(this.sessionsByIp, entry.ip, -1);
    this.ipChanged(entry.ip);
    increment(this.sessionsByVersion, entry.clientVersion, -1);
    this.changes++;
  }
}

interface Counts {
  get(key: string): number | undefined;
  set(key: string, count: number): unknown;
  delete(key: string): unknown;
}

function increment(counts: Counts, key: string, delta: number): void {
  const count = (counts.get(key) ?? 0) + delta;
  if (count === 0) counts.delete(key);
  else counts.set(key, count);
}
