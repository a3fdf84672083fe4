import { StoreOutcomeUnknownError } from '../../errors/store-outcome-unknown.error';
import type { StoredSession } from '../session-store.interface';

/** Sessions per script call; larger batches are split into several calls. */
export const UPSERT_CHUNK = 1000;

interface PendingUpsert {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the upserts made in one turn of the event loop and sends them together, a call per
 * chunk of sessions of one shard: one call carries up to a thousand sessions, where a call per
 * touch would cost a round trip each. A session touched several times in the turn is sent once,
 * with its newest sighting (on a tie, the later call's), which is what sending them one after the
 * other would leave. Each caller is answered by the calls that carried its sessions.
 */
export class UpsertBatcher {
  private queue: { sessions: readonly StoredSession[]; now: number; caller: PendingUpsert }[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    /** Sends one chunk, all of one shard; `shardOf` tells which. */
    private readonly send: (shard: number, sessions: StoredSession[], now: number) => Promise<void>,
    private readonly shardOf: (session: StoredSession) => number,
  ) {}

  add(sessions: readonly StoredSession[], now: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ sessions, now, caller: { resolve, reject } });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Resolves once every call sent so far has settled. */
  async settled(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const newest = new Map<string, { session: StoredSession; callers: Set<PendingUpsert> }>();
    let now = 0;
    for (const { sessions, now: calledAt, caller } of batch) {
      now = Math.max(now, calledAt);
      for (const session of sessions) {
        const known = newest.get(session.id);
        if (!known) newest.set(session.id, { session, callers: new Set([caller]) });
        else {
          if (known.session.seenAt <= session.seenAt) known.session = session;
          known.callers.add(caller);
        }
      }
    }
    const byShard = new Map<number, { sessions: StoredSession[]; callers: Set<PendingUpsert> }[]>();
    for (const { session, callers } of newest.values()) {
      const shard = this.shardOf(session);
      let chunks = byShard.get(shard);
      if (!chunks) byShard.set(shard, (chunks = []));
      let chunk = chunks[chunks.length - 1];
      if (!chunk || chunk.sessions.length === UPSERT_CHUNK) chunks.push((chunk = { sessions: [], callers: new Set() }));
      chunk.sessions.push(session);
      for (const caller of callers) chunk.callers.add(caller);
    }
    const callsOf = new Map<PendingUpsert, Promise<void>[]>();
    for (const [shard, chunks] of byShard) {
      for (const chunk of chunks) {
        const call = this.send(shard, chunk.sessions, now);
        this.track(call);
        for (const caller of chunk.callers) {
          let calls = callsOf.get(caller);
          if (!calls) callsOf.set(caller, (calls = []));
          calls.push(call);
        }
      }
    }
    for (const { caller } of batch) {
      const calls = callsOf.get(caller);
      if (!calls) caller.resolve(); // every session of it was already expired, or left out
      else void Promise.allSettled(calls).then((outcomes) => settle(caller, outcomes));
    }
  }

  private track(call: Promise<unknown>): void {
    const settled = call.catch(() => undefined);
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }
}

/** Resolved when every call carrying the caller's sessions succeeded; an unknown outcome outweighs a refusal. */
function settle(caller: PendingUpsert, outcomes: PromiseSettledResult<void>[]): void {
  const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failures.length === 0) return caller.resolve();
  const unknown = failures.find((failure) => failure.reason instanceof StoreOutcomeUnknownError);
  caller.reject((unknown ?? failures[0]).reason);
}
