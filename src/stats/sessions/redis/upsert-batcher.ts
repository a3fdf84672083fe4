import { StoreOutcomeUnknownError } from '../../errors/store-outcome-unknown.error';
import type { StoredSession } from '../session-store.interface';

/** Sessions per script call; larger batches are split into several calls. */
export const UPSERT_CHUNK = 1000;

interface PendingUpsert {
  resolve: () => void;
  reject: (error: unknown) => void;
  /** Calls carrying its sessions that have not settled yet, in the flush under way. */
  pending: number;
  /** The chunk that last counted this caller. */
  chunk: number;
  error?: unknown;
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
  private chunkIds = 0;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    /** Sends one chunk, all of one shard; `shardOf` tells which. */
    private readonly send: (shard: number, sessions: StoredSession[], now: number) => Promise<void>,
    private readonly shardOf: (session: StoredSession) => number,
  ) {}

  add(sessions: readonly StoredSession[], now: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ sessions, now, caller: { resolve, reject, pending: 0, chunk: 0 } });
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
    // The newest sighting of each session, and every caller that asked for it (most sessions have one).
    const newest = new Map<string, { session: StoredSession; caller: PendingUpsert; others?: PendingUpsert[] }>();
    let now = 0;
    for (const { sessions, now: calledAt, caller } of batch) {
      now = Math.max(now, calledAt);
      for (const session of sessions) {
        const known = newest.get(session.id);
        if (!known) newest.set(session.id, { session, caller });
        else {
          if (known.session.seenAt <= session.seenAt) known.session = session;
          if (known.caller !== caller) (known.others ??= []).push(caller);
        }
      }
    }
    const byShard = new Map<number, { id: number; sessions: StoredSession[]; callers: PendingUpsert[] }[]>();
    for (const { session, caller, others } of newest.values()) {
      const shard = this.shardOf(session);
      let chunks = byShard.get(shard);
      if (!chunks) byShard.set(shard, (chunks = []));
      let chunk = chunks[chunks.length - 1];
      if (!chunk || chunk.sessions.length === UPSERT_CHUNK)
        chunks.push((chunk = { id: ++this.chunkIds, sessions: [], callers: [] }));
      chunk.sessions.push(session);
      for (const each of others ? [caller, ...others] : [caller]) {
        // Counted once per chunk: the chunk's number marks the callers already in it.
        if (each.chunk === chunk.id) continue;
        each.chunk = chunk.id;
        each.pending++;
        chunk.callers.push(each);
      }
    }
    for (const [shard, chunks] of byShard) {
      for (const { sessions, callers } of chunks) {
        const call = this.send(shard, sessions, now).then(
          () => callers.forEach((caller) => settleOne(caller)),
          (error: unknown) => callers.forEach((caller) => settleOne(caller, error)),
        );
        this.track(call);
      }
    }
    for (const { caller } of batch) if (caller.pending === 0) caller.resolve(); // nothing of it was left to send
  }

  private track(call: Promise<unknown>): void {
    const settled = call.catch(() => undefined);
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }
}

/** One call carrying some of the caller's sessions settled; the caller settles with the last one. */
function settleOne(caller: PendingUpsert, error?: unknown): void {
  // An unknown outcome outweighs a refusal: the caller must not take its touch for not stored.
  if (error !== undefined && !(caller.error instanceof StoreOutcomeUnknownError)) caller.error = error;
  if (--caller.pending > 0) return;
  if (caller.error === undefined) caller.resolve();
  else caller.reject(caller.error);
}
