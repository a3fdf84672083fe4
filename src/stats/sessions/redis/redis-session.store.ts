import type { OnApplicationShutdown } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { SharedCheck } from '../../common/shared-check';
import { StatsConfigurationError } from '../../errors/stats-configuration.error';
import { resolveKeyPrefix } from '../../stats-options.validation';
import type { SessionAggregates, SessionStore, StoredSession } from '../session-store.interface';
import { isRedisClient, notARedisClient } from './redis-client';
import { ChangeFeedReader, type FeedPosition, type ShardReply } from './change-feed.reader';
import { RedisConnection } from './redis-connection';
import { DEFAULT_SHARDS, RedisLayout, sessionBucket, sessionField, type ShardKeys } from './redis-layout';
import { READ_SCRIPT, REMOVE_SCRIPT, REVISIONS_SCRIPT, UPSERT_SCRIPT } from './redis-scripts';
import { changeTag, ShardWriter } from './shard-writer';
import { UpsertBatcher, UPSERT_CHUNK } from './upsert-batcher';

export interface RedisSessionStoreOptions {
  /** `redis://` or `rediss://` URL: the store opens its own connection and closes it on shutdown. */
  url?: string;
  /** An ioredis client or cluster of the host; the store never closes it. */
  client?: Redis | Cluster;
  /** Prefix of every key the store writes. */
  keyPrefix: string;
  /** Groups of keys the sessions are spread over, each in one hash slot of a cluster. Default 16. */
  shards?: number;
  /** Replicas that must have a write before it counts as done (Redis WAIT). Default 0. */
  waitForReplicas?: number;
  /** Bound on each store call; beyond it the call fails with StoreUnavailableError (or, for a write, StoreOutcomeUnknownError). */
  commandTimeoutMs: number;
  ttlSeconds: number;
}

/** Ids per HMGET of `find`. */
const FIND_CHUNK = 10_000;

/** Command names defined on the client; namespaced because a host's client may be shared. */
const COMMANDS = {
  read: 'statsSessionsReadV3',
  revisions: 'statsSessionsRevisionsV3',
  upsert: 'statsSessionsUpsertV3',
  remove: 'statsSessionsRemoveV3',
} as const;

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Sessions shared by every instance through Redis, spread over shards (see {@link RedisLayout})
 * so that a cluster's masters share the memory and the work. The dashboard's figures (per-IP and
 * per-version counts, the revision) are kept up to date in Redis by Lua scripts, one shard per
 * call, and each instance follows the shards' change feeds into its own copy of the counts
 * ({@link ChangeFeedReader}). Expiry runs inside the same scripts, on whichever instance calls
 * first: each session is expired once, atomically, without a central sweeper.
 *
 * Upserts of one turn of the event loop go together ({@link UpsertBatcher}). A write that Redis
 * gets to only after its caller was told it failed (Redis hung, then resumed) changes nothing.
 */
export class RedisSessionStore implements SessionStore, OnApplicationShutdown {
  private readonly connection: RedisConnection;
  private readonly layout: RedisLayout;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly batcher: UpsertBatcher;
  private readonly reader: ChangeFeedReader;
  /** Reads of the change feeds run one after the other: each continues where the last one stopped. */
  private feedRead: Promise<unknown> = Promise.resolve();
  private readonly writer: ShardWriter;
  private readonly revisionCheck = new SharedCheck((now: number) => this.checkRevision(now));

  constructor(options: RedisSessionStoreOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.timeoutMs = options.commandTimeoutMs;
    const shards = options.shards ?? DEFAULT_SHARDS;
    if (options.client !== undefined && !isRedisClient(options.client)) {
      throw new StatsConfigurationError('sessions.redis.client', notARedisClient(options.client));
    }
    this.layout = new RedisLayout(resolveKeyPrefix(options.keyPrefix), shards);
    this.connection = new RedisConnection(options);
    this.writer = new ShardWriter(this.connection, shards, {
      ttlMs: this.ttlMs,
      timeoutMs: this.timeoutMs,
      waitForReplicas: options.waitForReplicas ?? 0,
    });
    const client = this.connection.client;
    client.defineCommand(COMMANDS.read, { numberOfKeys: 4, lua: READ_SCRIPT });
    client.defineCommand(COMMANDS.revisions, { lua: REVISIONS_SCRIPT }); // numberOfKeys given per call
    client.defineCommand(COMMANDS.upsert, { numberOfKeys: 4, lua: UPSERT_SCRIPT });
    client.defineCommand(COMMANDS.remove, { numberOfKeys: 4, lua: REMOVE_SCRIPT });
    this.batcher = new UpsertBatcher(
      (shard, sessions, now) => this.sendUpserts(this.layout.shards[shard], sessions, now),
      (session) => this.layout.shardOf(sessionField(session.id)).index,
    );
    this.reader = new ChangeFeedReader(shards, (shard, mode, position) =>
      this.readShard(this.layout.shards[shard], mode, position),
    );
  }

  /** Waits up to `commandTimeoutMs` for the connection, so the first requests after start-up find it open. */
  connected(): Promise<void> {
    return this.connection.connected();
  }

  upsert(sessions: readonly StoredSession[], now: number): Promise<void> {
    const cutoff = now - this.ttlMs;
    const active = sessions.filter((session) => session.seenAt > cutoff);
    if (active.length === 0) return Promise.resolve();
    return this.batcher.add(active, now);
  }

  async remove(ids: readonly string[], now = Date.now()): Promise<void> {
    const byShard = new Map<ShardKeys, string[]>();
    for (const id of ids) {
      const field = sessionField(id);
      const shard = this.layout.shardOf(field);
      const fields = byShard.get(shard) ?? [];
      fields.push(field);
      byShard.set(shard, fields);
    }
    await Promise.all(
      [...byShard].map(async ([shard, fields]) => {
        for (let start = 0; start < fields.length; start += UPSERT_CHUNK) {
          await this.writer.write(shard, COMMANDS.remove, now, fields.slice(start, start + UPSERT_CHUNK));
        }
      }),
    );
  }

  /**
   * The revisions of all shards, after expiring what is due; concurrent calls share checks
   * ({@link SharedCheck}), each answer as new as its call.
   */
  revision(now: number): Promise<string> {
    return this.revisionCheck.run(now);
  }

  aggregates(now: number): Promise<SessionAggregates> {
    const read = this.feedRead.then(async () => {
      this.readCutoff = now - this.ttlMs;
      const figures = await this.reader.read();
      return {
        revision: figures.revision,
        totalCount: figures.totalCount,
        sessionsByIp: this.reader.sessionsByIp,
        sessionsByVersion: figures.sessionsByVersion,
        changePosition: this.reader.changes.position,
      };
    });
    this.feedRead = read.catch(() => undefined);
    return read;
  }

  /** Answered from this instance's copy of the counts, as of its latest read of the change feeds. */
  changedIpsSince(position: number): ReadonlySet<string> | undefined {
    return this.reader.changes.since(position);
  }

  async find(ids: readonly string[], now: number): Promise<Map<string, StoredSession>> {
    const cutoff = now - this.ttlMs;
    const found = new Map<string, StoredSession>();
    const byShard = new Map<ShardKeys, { id: string; field: string }[]>();
    for (const id of ids) {
      const field = sessionField(id);
      const shard = this.layout.shardOf(field);
      const list = byShard.get(shard) ?? [];
      list.push({ id, field });
      byShard.set(shard, list);
    }
    const client = this.connection.client;
    const findInShard = async (shard: ShardKeys, chunk: { id: string; field: string }[]) => {
      const byBucket = new Map<string, { id: string; field: string }[]>();
      for (const entry of chunk) {
        const key = `${shard.bucketBase}s:${sessionBucket(entry.field)}`;
        const list = byBucket.get(key) ?? [];
        list.push(entry);
        byBucket.set(key, list);
      }
      const stored: { id: string; field: string; record: string }[] = [];
      await Promise.all(
        [...byBucket].map(async ([key, entries]) => {
          const records = await this.connection.call(
            () => client.hmget(key, ...entries.map(({ field }) => field)),
            'read',
          );
          entries.forEach((entry, index) => {
            const record = records[index];
            if (record !== null) stored.push({ ...entry, record });
          });
        }),
      );
      if (stored.length === 0) return;
      // A session's time is its score in the expiry ZSET, under "field|ip|version".
      const members = stored.map(({ field, record }) => `${field}|${record}`);
      const times = await this.connection.call(() => client.zmscore(shard.keys[1], ...members), 'read');
      stored.forEach(({ id, record }, index) => {
        const seenAt = times[index] === null ? NaN : Number(times[index]);
        if (!(seenAt > cutoff)) return;
        const bar = record.indexOf('|');
        found.set(id, { id, seenAt, ip: record.slice(0, bar), clientVersion: record.slice(bar + 1) });
      });
    };
    await Promise.all(
      [...byShard].flatMap(([shard, list]) =>
        Array.from({ length: Math.ceil(list.length / FIND_CHUNK) }, (_, n) =>
          findInShard(shard, list.slice(n * FIND_CHUNK, (n + 1) * FIND_CHUNK)),
        ),
      ),
    );
    return found;
  }

  async ping(): Promise<void> {
    await this.connection.call(() => this.connection.client.ping(), 'read');
  }

  /** Sends the upserts still queued, then closes the own connection (a host's client stays open). */
  async onApplicationShutdown(): Promise<void> {
    await this.batcher.settled();
    await this.connection.close();
  }

  /** The cutoff of the read under way: sessions seen at or before it have expired. */
  private readCutoff = 0;

  private async checkRevision(now: number): Promise<string> {
    const deadline = Date.now() + this.timeoutMs;
    if (!(this.connection.client as Cluster).isCluster) return this.checkRevisionsTogether(now, deadline);
    const read = this.command(COMMANDS.read);
    const revisions = await Promise.all(
      this.layout.shards.map(async (shard) => {
        for (;;) {
          const reply = (await this.connection.call(
            () => read(...shard.keys, shard.bucketBase, now - this.ttlMs, changeTag(), 'revision'),
            'read',
            deadline,
          )) as [string, string?];
          if (reply[0] === 'revision') return reply[1]!;
        }
      }),
    );
    return revisions.join(',');
  }

  /** One call for every shard, where Redis allows scripts to span slots: one round trip per check. */
  private async checkRevisionsTogether(now: number, deadline: number): Promise<string> {
    const revisions = this.command(COMMANDS.revisions);
    const shards = this.layout.shards;
    const keys = shards.flatMap((shard) => shard.keys);
    for (;;) {
      const reply = (await this.connection.call(
        () =>
          revisions(keys.length, ...keys, now - this.ttlMs, changeTag(), ...shards.map((shard) => shard.bucketBase)),
        'read',
        deadline,
      )) as [string, string?];
      if (reply[0] === 'revision') return reply[1]!;
    }
  }

  private async readShard(
    shard: ShardKeys,
    mode: 'changes' | 'snapshot',
    position?: FeedPosition,
  ): Promise<ShardReply> {
    // Pages come as Buffers: the IPs are parsed in slices, never as one multi-megabyte string.
    const read = this.command(`${COMMANDS.read}Buffer`);
    const deadline = Date.now() + this.timeoutMs;
    const where = position ? [position.id, position.revision, position.tag] : [];
    for (;;) {
      const reply = (await this.connection.call(
        () => read(...shard.keys, shard.bucketBase, this.readCutoff, changeTag(), mode, ...where),
        'read',
        deadline,
      )) as Buffer[] & (number | Buffer | Buffer[])[];
      const kind = String(reply[0]);
      if (kind === 'more') continue; // sessions came due meanwhile: the call swept a share of them
      if (kind === 'again' || kind === 'stale') return { kind: 'stale' };
      const [, revision, total, versions, counts, id, revisionAt, tagAt, complete] = reply as unknown as [
        Buffer,
        Buffer,
        number,
        Buffer[],
        Buffer,
        Buffer,
        number,
        Buffer,
        number?,
      ];
      const common = {
        revision: String(revision),
        total,
        versions: versions.map(String),
        counts,
        position: { id: String(id), revision: revisionAt, tag: String(tagAt) },
      };
      return kind === 'changes' ? { kind, ...common, complete: complete === 1 } : { kind: 'snapshot', ...common };
    }
  }

  private async sendUpserts(shard: ShardKeys, sessions: StoredSession[], now: number): Promise<void> {
    const rows = sessions.map((session) => [
      sessionField(session.id),
      String(session.seenAt),
      `${session.ip}|${wellFormed(session.clientVersion)}`,
    ]);
    await this.writer.write(shard, COMMANDS.upsert, now, [JSON.stringify(rows)]);
  }

  private command(name: string): ScriptCommand {
    const client = this.connection.client;
    return (client as unknown as Record<string, ScriptCommand>)[name].bind(client);
  }
}

/**
 * The text as Redis stores it: a lone UTF-16 surrogate, which has no UTF-8 form, becomes U+FFFD,
 * as it does in any other argument; Lua's JSON decoder would refuse it.
 */
function wellFormed(text: string): string {
  const checked = text as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  return checked.isWellFormed() ? text : checked.toWellFormed();
}
