import { Logger } from '@nestjs/common';
import { KeyChangeLog } from '../../common/key-change-log';
import { ShardedMap } from '../../common/sharded-map';
import { Slice } from '../../common/slice';

/** The change feed entry a reader read last in one shard; revision 0 is the empty shard of any history. */
export interface FeedPosition {
  id: string;
  revision: number;
  tag: string;
}

/** A shard's answer to a read; see READ_SCRIPT. Text fields come as Buffers. */
export type ShardReply =
  | {
      kind: 'changes';
      revision: string;
      total: number;
      versions: string[];
      counts: Buffer;
      position: FeedPosition;
      complete: boolean;
    }
  | { kind: 'snapshot'; revision: string; total: number; versions: string[]; counts: Buffer; position: FeedPosition }
  | { kind: 'stale' };

export interface FeedFigures {
  /** The revisions of all shards: equal figures when equal, whatever happened to Redis in between. */
  revision: string;
  totalCount: number;
  sessionsByVersion: Map<string, number>;
}

/**
 * This instance's copy of the per-IP counts of every shard, added up, kept up to date from the
 * shards' change feeds: a read fetches only the changes since the entry it read last in each
 * shard. When a shard's history is not the one this copy was built from (Redis rolled back, a
 * shard was cleared, or this reader fell behind the feed's retention), every shard is read afresh:
 * a shard's share of the sums is not kept apart, so it cannot be replaced alone.
 */
export class ChangeFeedReader {
  private readonly logger = new Logger('StatsModule');
  private counts = new ShardedMap<number>();
  /** IPs in the order their counts changed, for readers that update only what changed. */
  readonly changes = new KeyChangeLog();
  private positions: (FeedPosition | null)[];

  constructor(
    shardCount: number,
    private readonly readShard: (
      shard: number,
      mode: 'changes' | 'snapshot',
      position?: FeedPosition,
    ) => Promise<ShardReply>,
  ) {
    this.positions = new Array<FeedPosition | null>(shardCount).fill(null);
  }

  get sessionsByIp(): ReadonlyMap<string, number> {
    return this.counts;
  }

  /** Brings the counts up to date; read calls must not overlap. */
  async read(): Promise<FeedFigures> {
    if (this.positions.every((position) => position !== null)) {
      const replies = await Promise.all(this.positions.map((_, shard) => this.readChanges(shard)));
      if (replies.every((reply) => reply !== null)) return figures(replies);
    }
    return this.readSnapshots();
  }

  /** Reads one shard's changes page after page; null when its history is not the one read so far. */
  private async readChanges(shard: number): Promise<Extract<ShardReply, { kind: 'changes' }> | null> {
    for (;;) {
      const reply = await this.readShard(shard, 'changes', this.positions[shard]!);
      if (reply.kind !== 'changes') return null;
      const consistent = await applyCounts(reply.counts, this.counts, this.changes);
      if (!consistent) {
        this.logger.warn('Redis session store: a change feed gave a count below zero; reading every shard afresh');
        this.positions.fill(null);
        return null;
      }
      this.positions[shard] = reply.position;
      if (reply.complete) return reply;
    }
  }

  private async readSnapshots(): Promise<FeedFigures> {
    this.positions.fill(null);
    const replies = await Promise.all(
      this.positions.map(async (_, shard) => {
        // A shard found inconsistent is cleared and asks to be read again; a second time it is empty.
        for (let attempt = 0; attempt < 3; attempt++) {
          const reply = await this.readShard(shard, 'snapshot');
          if (reply.kind === 'snapshot') return reply;
        }
        throw new Error(`shard ${shard} of the Redis session store gave no snapshot in three reads`);
      }),
    );
    const counts = new ShardedMap<number>();
    for (const reply of replies) await applyCounts(reply.counts, counts, null);
    this.counts = counts;
    this.changes.reset();
    replies.forEach((reply, shard) => (this.positions[shard] = reply.position));
    return figures(replies);
  }
}

function figures(replies: { revision: string; total: number; versions: string[] }[]): FeedFigures {
  const sessionsByVersion = new Map<string, number>();
  let totalCount = 0;
  for (const { total, versions } of replies) {
    totalCount += total;
    for (let i = 0; i < versions.length; i += 2) {
      sessionsByVersion.set(versions[i], (sessionsByVersion.get(versions[i]) ?? 0) + Number(versions[i + 1]));
    }
  }
  return { revision: replies.map((reply) => reply.revision).join(','), totalCount, sessionsByVersion };
}

const COMMA = 0x2c;
const MINUS = 0x2d;
const DIGIT_ZERO = 0x30;

/**
 * Adds the "ip,n,ip,n" of a reply to `counts` (n may be negative), yielding to the event loop every
 * few milliseconds. Answers false when a count fell below zero. Changed IPs go to `changes`.
 */
async function applyCounts(text: Buffer, counts: ShardedMap<number>, changes: KeyChangeLog | null): Promise<boolean> {
  const slice = new Slice(4096);
  let consistent = true;
  let position = 0;
  while (position < text.length) {
    const afterIp = text.indexOf(COMMA, position);
    const ip = text.toString('latin1', position, afterIp);
    position = afterIp + 1;
    const negative = text[position] === MINUS;
    if (negative) position++;
    let value = 0;
    for (; position < text.length && text[position] !== COMMA; position++)
      value = value * 10 + text[position] - DIGIT_ZERO;
    const count = (counts.get(ip) ?? 0) + (negative ? -value : value);
    if (count < 0) consistent = false;
    if (count <= 0) counts.delete(ip);
    else counts.set(ip, count);
    changes?.record(ip);
    position++;
    if (slice.due()) await slice.pause();
  }
  return consistent;
}
