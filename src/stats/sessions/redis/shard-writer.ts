import { randomBytes } from 'node:crypto';
import { StoreOutcomeUnknownError } from '../../errors/store-outcome-unknown.error';
import { StoreUnavailableError } from '../../errors/store-unavailable.error';
import type { RedisConnection } from './redis-connection';
import type { ShardKeys } from './redis-layout';

/** Keys outlive the newest session by this much, so an abandoned prefix leaves Redis on its own. */
const KEY_GRACE_MS = 60_000;

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

/** A tag naming one change: readers recognise the history they followed by it. */
export function changeTag(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * Sends the writing scripts (upsert, remove) to their shard: each bounded by the command timeout,
 * with its deadline in the server's clock so that Redis drops a write it reaches too late, and,
 * with `waitForReplicas`, done only once that many replicas have it.
 */
export class ShardWriter {
  /** Per shard: the Redis server's clock minus ours, at most (learnt from replies); null until known. */
  private readonly clockOffsets: (number | null)[];

  constructor(
    private readonly connection: RedisConnection,
    shardCount: number,
    private readonly options: { ttlMs: number; timeoutMs: number; waitForReplicas: number },
  ) {
    this.clockOffsets = new Array<number | null>(shardCount).fill(null);
  }

  /**
   * A write to one shard, bounded by the command timeout. The script is told the deadline in the
   * server's time (our clock plus the offset learnt, which errs early), so that Redis, should it
   * get to the call later, drops it: the caller was told it failed. With `waitForReplicas`, the
   * write counts as done only once that many replicas have it (WAIT, on the same connection).
   */
  async write(shard: ShardKeys, command: string, now: number, rest: string[]): Promise<void> {
    const deadline = Date.now() + this.options.timeoutMs;
    const offset = this.clockOffsets[shard.index];
    const serverDeadline = offset === null ? 0 : deadline + offset;
    const args = [
      ...shard.keys,
      shard.bucketBase,
      now - this.options.ttlMs,
      this.options.ttlMs + KEY_GRACE_MS,
      changeTag(),
      serverDeadline,
      ...rest,
    ];
    const reply = (await this.connection.call(
      () =>
        this.options.waitForReplicas > 0 ? this.writeAndWait(command, args, deadline) : this.command(command)(...args),
      'write',
      deadline,
    )) as [string, number?];
    if (reply[0] === 'late')
      throw new StoreUnavailableError(new Error('Redis reached the call after its deadline and dropped it'));
    // The reply left the server before it arrived here: this offset is at most the true one.
    this.clockOffsets[shard.index] = Number(reply[1]) - Date.now();
  }

  /** The script and a WAIT in one pipeline, so both go to the node that ran the script. */
  private async writeAndWait(command: string, args: (string | number)[], deadline: number): Promise<unknown> {
    const pipeline = this.connection.client.pipeline();
    (pipeline as unknown as Record<string, (...args: (string | number)[]) => unknown>)[command](...args);
    pipeline.wait(this.options.waitForReplicas, Math.max(1, deadline - Date.now()));
    const [[scriptError, reply], [waitError, replicas]] = (await pipeline.exec()) as [Error | null, unknown][];
    if (scriptError) throw scriptError;
    if (waitError) throw new StoreOutcomeUnknownError(waitError);
    if ((reply as string[])[0] !== 'late' && Number(replicas) < this.options.waitForReplicas) {
      throw new StoreOutcomeUnknownError(
        new Error(
          `the master applied the write, ${replicas} of ${this.options.waitForReplicas} replica(s) acknowledged it in time`,
        ),
      );
    }
    return reply;
  }

  private command(name: string): ScriptCommand {
    const client = this.connection.client;
    return (client as unknown as Record<string, ScriptCommand>)[name].bind(client);
  }
}
