import type { OnModuleDestroy } from '@nestjs/common';
import type { SessionAggregates, SessionStore, StoredSession } from './session-store.interface';

interface Entry {
  ip: string;
  clientVersion: string;
  seenAt: number;
  /** Expiry bucket (whole second of `seenAt`) the id is filed under. */
  second: number;
}

/** Sessions expired per slice before the sweep yields to the event loop. */
const SWEEP_SLICE = 20_000;
const SWEEP_INTERVAL_MS = 5_000;

/**
 * The default store: sessions in this process, with the dashboard's counters updated on every
 * change rather than recomputed per request. Expiry uses one bucket per second of `seenAt`, so a
 * sweep only visits sessions that are due, whatever order they were seen in.
 */
export class MemorySessionStore implements SessionStore, OnModuleDestroy {
  private readonly sessions = new Map<string, Entry>();
  private readonly idsBySecond = new Map<number, Set<string>>();
  private readonly sessionsByIp = new Map<string, number>();
  private readonly sessionsByVersion = new Map<string, number>();
  private readonly ttlMs: number;
  private changes = 0;
  /** IPs whose count changed since the last `aggregates` call; null until the first call. */
  private changedIps: Set<string> | null = null;
  /** No bucket is older than this second. */
  private oldestSecond = Number.POSITIVE_INFINITY;
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
    if (this.oldestSecond > Math.floor((now - this.ttlMs) / 1000)) return Promise.resolve(); // nothing due
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
    const lastDueSecond = Math.floor(cutoff / 1000);
    let budget = SWEEP_SLICE;
    for (let second = this.oldestSecond; second <= lastDueSecond; second++) {
      const ids = this.idsBySecond.get(second);
      if (ids) {
        for (const id of ids) {
          const entry = this.sessions.get(id)!;
          if (entry.seenAt > cutoff) continue; // the bucket of the cutoff itself is only partly due
          this.delete(id, entry);
          if (--budget === 0) return false;
        }
        if (ids.size > 0) return true; // the rest of this bucket is not due yet
      }
      this.oldestSecond = second + 1;
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
    const added: Entry = { ip: session.ip, clientVersion: session.clientVersion, seenAt: 0, second: NaN };
    this.file(session.id, added, session.seenAt);
    this.sessions.set(session.id, added);
    increment(this.sessionsByIp, added.ip, 1);
    this.changedIps?.add(added.ip);
    increment(this.sessionsByVersion, added.clientVersion, 1);
    this.changes++;
  }

  /** Moves an entry to the expiry bucket of its new `seenAt`. */
  private file(id: string, entry: Entry, seenAt: number): void {
    const second = Math.floor(seenAt / 1000);
    entry.seenAt = seenAt;
    if (second === entry.second) return;
    this.idsBySecond.get(entry.second)?.delete(id);
    let ids = this.idsBySecond.get(second);
    if (!ids) {
      ids = new Set();
      this.idsBySecond.set(second, ids);
    }
    ids.add(id);
    entry.second = second;
    if (second < this.oldestSecond) this.oldestSecond = second;
  }

  private delete(id: string, entry: Entry): void {
    this.sessions.delete(id);
    const ids = this.idsBySecond.get(entry.second);
    if (ids) {
      ids.delete(id);
      if (ids.size === 0) this.idsBySecond.delete(entry.second);
    }
    increment(this.sessionsByIp, entry.ip, -1);
    this.changedIps?.add(entry.ip);
    increment(this.sessionsByVersion, entry.clientVersion, -1);
    this.changes++;
  }
}

function increment(counts: Map<string, number>, key: string, delta: number): void {
  const count = (counts.get(key) ?? 0) + delta;
  if (count === 0) counts.delete(key);
  else counts.set(key, count);
}
