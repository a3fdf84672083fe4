import { randomBytes } from 'node:crypto';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import Redis, { type Cluster } from 'ioredis';
import { ChangedKeys } from '../common/changed-keys';
import { ShardedMap } from '../common/sharded-map';
import { Slice } from '../common/slice';
import { StatsConfigurationError } from '../errors/stats-configuration.error';
import { StoreUnavailableError } from '../errors/store-unavailable.error';
import { resolveKeyPrefix } from '../stats-options.resolver';
import { isRedisClient, notARedisClient } from './redis-client';
import type { SessionAggregates, SessionStore, StoredSession } from './session-store.interface';

export interface RedisSessionStoreOptions {
  /** `redis://` or `rediss://` URL: the store opens its own connection and closes it on shutdown. */
  url?: string;
  /** An ioredis client or cluster of the host; the store never closes it. */
  client?: Redis | Cluster;
  /** Prefix of every key the store writes. */
  keyPrefix: string;
  /** Bound on each store call; beyond it the call fails with {@link StoreUnavailableError}. */
  commandTimeoutMs: number;
  ttlSeconds: number;
}

/** Sessions expired per ZRANGEBYSCORE batch; stays well below Lua's limit on unpack(). */
const SWEEP_BATCH = 5000;
/** Batches one script call may expire, so a mass expiry never blocks Redis for long. */
const SWEEP_BATCHES_PER_READ = 2;
/** Sessions per upsert or remove script call; larger batches are split into several calls. */
const UPSERT_CHUNK = 1000;
/**
 * Changed IPs per page of the change feed. One script call changes at most
 * SWEEP_BATCHES_PER_READ * SWEEP_BATCH + UPSERT_CHUNK IPs, fewer than a page, so every page ends
 * at a whole revision. A page's reply stays a few hundred kilobytes.
 */
const FEED_PAGE = 20_000;
/** IPs without sessions the change feed remembers; readers further behind read everything again. */
const TOMBSTONES = 100_000;
/** Tombstones one script call may forget, so trimming never blocks Redis for long. */
const TRIM_BATCH = 5000;
/** Ids per HMGET of `find`. */
const FIND_CHUNK = 10_000;
/** Keys outlive the newest session by this much, so an abandoned prefix leaves Redis on its own. */
const KEY_GRACE_MS = 60_000;
const ERROR_LOG_INTERVAL_MS = 30_000;
/** Names of the keys, in the order of KEYS in the scripts. */
const KEY_NAMES = ['sessions', 'expiry', 'by-ip', 'by-version', 'meta', 'changes', 'gone'];
/** Part of every key name: a store of another layout ignores these keys rather than misreading them. */
const LAYOUT = 'v2';

/**
 * Shared prelude of the scripts. KEYS: sessions hash (id -> "seenAt|ip|version"), expiry ZSET
 * (id by seenAt), per-IP counts, per-version counts, meta hash (generation, revision, floor),
 * change feed ZSET (IP by the revision that last changed its count), tombstones ZSET (IPs left
 * without sessions, by that revision). An IP never contains "|", so the version is everything
 * after the second one.
 *
 * Every IP with sessions stays in the change feed, so a reader can rebuild all counts from it;
 * IPs without sessions leave it once more than ${TOMBSTONES} of them wait there, and the floor
 * then tells readers behind it to start again.
 */
const LUA_PRELUDE = `
local sessions, expiry, byIp, byVersion, meta, changes, gone =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]

local function split(packed)
  local first = string.find(packed, '|', 1, true)
  local second = string.find(packed, '|', first + 1, true)
  return tonumber(string.sub(packed, 1, first - 1)), string.sub(packed, first + 1, second - 1),
    string.sub(packed, second + 1)
end

-- The revision of this call's changes: the stored one plus one, taken at the first change.
local changeRevision = nil
local function changed()
  if not changeRevision then
    changeRevision = redis.call('HINCRBY', meta, 'revision', 1)
  end
  return changeRevision
end

local function countVersion(version, delta)
  if redis.call('HINCRBY', byVersion, version, delta) <= 0 then redis.call('HDEL', byVersion, version) end
end

local function countIp(ip, delta)
  local count = redis.call('HINCRBY', byIp, ip, delta)
  local revision = changed()
  redis.call('ZADD', changes, revision, ip)
  if count <= 0 then
    redis.call('HDEL', byIp, ip)
    redis.call('ZADD', gone, revision, ip)
  elseif count == delta then
    redis.call('ZREM', gone, ip)
  end
end

local function uncount(packed)
  local _, ip, version = split(packed)
  countIp(ip, -1)
  countVersion(version, -1)
end

-- Expires sessions seen at or before cutoff, at most batches * ${SWEEP_BATCH}; true when some may be left.
local function sweep(cutoff, batches)
  for _ = 1, batches do
    local ids = redis.call('ZRANGEBYSCORE', expiry, '-inf', cutoff, 'LIMIT', 0, ${SWEEP_BATCH})
    if #ids == 0 then return false end
    local packed = redis.call('HMGET', sessions, unpack(ids))
    for i = 1, #ids do
      if packed[i] then uncount(packed[i]) end
    end
    redis.call('HDEL', sessions, unpack(ids))
    redis.call('ZREM', expiry, unpack(ids))
    if #ids < ${SWEEP_BATCH} then return false end
  end
  return true
end

-- Forgets the oldest tombstones beyond ${TOMBSTONES}, at most ${TRIM_BATCH} per call.
local function trim()
  local excess = redis.call('ZCARD', gone) - ${TOMBSTONES}
  if excess <= 0 then return end
  local popped = redis.call('ZPOPMIN', gone, math.min(excess, ${TRIM_BATCH}))
  local ips = {}
  for i = 1, #popped, 2 do ips[#ips + 1] = popped[i] end
  redis.call('ZREM', changes, unpack(ips))
  redis.call('HSET', meta, 'floor', popped[#popped])
end

-- Keys that a sweep or a removal may create take the lifetime the last upsert gave the others.
local function keepLifetime()
  if not changeRevision then return end
  local lifetime = redis.call('PTTL', meta)
  if lifetime <= 0 then return end
  for _, key in ipairs({ changes, gone }) do
    if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, lifetime) end
  end
end

local function revision()
  local fields = redis.call('HMGET', meta, 'generation', 'revision')
  if not fields[1] then return '0' end
  return fields[1] .. ':' .. (fields[2] or '0')
end
`;

/**
 * ARGV: cutoff, then for a page of the change feed: generation and revision the caller has read up
 * to (empty for nothing read yet). Sweeps first; while sessions are left to expire it returns
 * { revision, 1 }. Without a page asked for: { revision, 0 }. Otherwise:
 * { revision, 0, generation, read up to, last page (1/0), start again (1/0), "ip,count,...",
 *   and on the last page: total, flat per-version counts }.
 * "Start again" means the caller's counts are from another generation or behind the floor: the
 * page starts from nothing. A count of 0 means the IP has no session left. The counts come as one
 * string, far cheaper for the client to read than as many replies; an IP never contains a comma.
 */
const READ_SCRIPT = `${LUA_PRELUDE}
local more = sweep(tonumber(ARGV[1]), ${SWEEP_BATCHES_PER_READ})
trim()
keepLifetime()
if more then return { revision(), 1 } end
if #ARGV < 3 then return { revision(), 0 } end

local fields = redis.call('HMGET', meta, 'generation', 'revision', 'floor')
local generation, current, floor = fields[1] or '', tonumber(fields[2] or '0'), tonumber(fields[3] or '0')
local since = tonumber(ARGV[3]) or -1
local fresh = 0
if ARGV[2] == '' and since <= 0 then
  since = -1 -- the caller read an empty store: everything in the feed is new to it
elseif ARGV[2] ~= generation or since < floor or since > current then
  since = -1
  fresh = 1
end

local entries = redis.call('ZRANGEBYSCORE', changes, '(' .. since, '+inf', 'WITHSCORES', 'LIMIT', 0, ${FEED_PAGE})
local upTo = current
if #entries == 2 * ${FEED_PAGE} then
  -- A full page: it ends before its last revision, which the next page reads whole.
  upTo = tonumber(entries[#entries]) - 1
  if upTo <= since then
    upTo = upTo + 1
    entries = redis.call('ZRANGEBYSCORE', changes, upTo, upTo, 'WITHSCORES')
  end
end
local ips = {}
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) <= upTo then ips[#ips + 1] = entries[i] end
end
local parts = {}
for first = 1, #ips, ${SWEEP_BATCH} do
  local last = math.min(first + ${SWEEP_BATCH} - 1, #ips)
  local counts = redis.call('HMGET', byIp, unpack(ips, first, last))
  for j = first, last do
    parts[#parts + 1] = ips[j]
    parts[#parts + 1] = counts[j - first + 1] or '0'
  end
end
local reply = { revision(), 0, generation, upTo, upTo == current and 1 or 0, fresh, table.concat(parts, ',') }
if upTo == current then
  reply[8] = redis.call('HLEN', sessions)
  reply[9] = redis.call('HGETALL', byVersion)
end
return reply
`;

/**
 * ARGV: sweep cutoff, key lifetime ms, candidate generation, then the sessions as one JSON array
 * of [id, seenAt, ip, version] (seenAt as text: Lua would print a large number in exponent form).
 * One argument rather than four per session spares the client thousands of protocol pieces per
 * call. Sessions already expired were left out by the caller. The newest seenAt wins, and on a tie
 * the later one; a newer sighting with the same IP and version only moves the session in time and
 * keeps the revision.
 */
const UPSERT_SCRIPT = `${LUA_PRELUDE}
sweep(tonumber(ARGV[1]), 1)
trim()
redis.call('HSETNX', meta, 'generation', ARGV[3])
for _, row in ipairs(cjson.decode(ARGV[4])) do
  local id, seenAtText, ip, version = row[1], row[2], row[3], row[4]
  local seenAt = tonumber(seenAtText)
  local old = redis.call('HGET', sessions, id)
  local apply = true
  local same = false
  if old then
    local oldSeenAt, oldIp, oldVersion = split(old)
    if oldSeenAt > seenAt then
      apply = false
    elseif oldIp == ip and oldVersion == version then
      same = true
    else
      uncount(old)
    end
  end
  if apply then
    redis.call('HSET', sessions, id, seenAtText .. '|' .. ip .. '|' .. version)
    redis.call('ZADD', expiry, seenAtText, id)
    if not same then
      countIp(ip, 1)
      countVersion(version, 1)
    end
  end
end
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 0
`;

/** ARGV: ids. Unknown ids are ignored; the revision moves only when a session was removed. */
const REMOVE_SCRIPT = `${LUA_PRELUDE}
for i = 1, #ARGV do
  local old = redis.call('HGET', sessions, ARGV[i])
  if old then
    uncount(old)
    redis.call('HDEL', sessions, ARGV[i])
    redis.call('ZREM', expiry, ARGV[i])
  end
end
keepLifetime()
return 0
`;

/** Command names defined on the client; namespaced because a host's client may be shared. */
const COMMANDS = {
  read: 'statsSessionsRead',
  upsert: 'statsSessionsUpsert',
  remove: 'statsSessionsRemove',
} as const;

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

interface PendingUpsert {
  sessions: readonly StoredSession[];
  now: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Sessions shared by every instance through Redis. The dashboard's figures (per-IP and
 * per-version counts, the revision) are kept up to date in Redis by Lua scripts, so serving the
 * dashboard never reads the sessions themselves, and `revision` is one cheap round trip. A change
 * feed lets each instance read only the per-IP counts that changed since its last read, into its
 * own copy. Expiry runs inside the same scripts, on whichever instance calls first: each session is
 * expired once, atomically, without a central sweeper.
 *
 * Upserts made in the same turn of the event loop are sent together. Every call fails within
 * `commandTimeoutMs` with {@link StoreUnavailableError} while Redis cannot be reached; the
 * connection recovers on its own.
 */
export class RedisSessionStore implements SessionStore, OnApplicationShutdown {
  private readonly logger = new Logger('StatsModule');
  private readonly client: Redis | Cluster;
  private readonly ownsClient: boolean;
  private readonly keys: string[];
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private queue: PendingUpsert[] = [];
  private flushScheduled = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The counts per IP as of `feedPosition`, kept up to date from the change feed. */
  private sessionsByIp = new ShardedMap<number>();
  private feedPosition = { generation: '', revision: '' };
  /** IPs whose count changed since the last `aggregates` answer. */
  private readonly changedIps = new ChangedKeys();
  /** Reads of the change feed run one after the other: each continues where the last one stopped. */
  private feedRead: Promise<unknown> = Promise.resolve();
  private lastErrorLogAt = 0;
  private suppressedErrors = 0;
  private disconnected = false;
  private closing = false;
  /** Why the own connection is down, from its last `error` event; cleared once it is ready again. */
  private connectionError: Error | undefined;

  constructor(options: RedisSessionStoreOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.timeoutMs = options.commandTimeoutMs;
    // One hash tag for all keys: the scripts touch them together, which a cluster allows in one slot.
    // The prefix has no braces (resolveKeyPrefix), so distinct prefixes never share a key.
    const base = `${resolveKeyPrefix(options.keyPrefix)}{store}:`;
    this.keys = KEY_NAMES.map((name) => `${base}${LAYOUT}:${name}`);

    if (options.client !== undefined) {
      if (!isRedisClient(options.client)) {
        throw new StatsConfigurationError('sessions.redis.client', notARedisClient(options.client));
      }
      this.client = options.client;
      this.ownsClient = false;
    } else {
      this.client = new Redis(options.url!, {
        // Fail at once while disconnected instead of queueing: the caller gets a 503, not a hang.
        enableOfflineQueue: false,
        commandTimeout: options.commandTimeoutMs,
        connectTimeout: Math.max(options.commandTimeoutMs, 1000),
        maxRetriesPerRequest: 1,
        // Reconnect forever, at most every two seconds, so the store recovers without a restart.
        retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
        connectionName: 'nest-stats-sessions',
      });
      this.ownsClient = true;
      this.client.on('error', (error: Error) => {
        this.connectionError = connectionError(error);
        this.logConnectionError(this.connectionError);
      });
      this.client.on('close', () => {
        if (this.disconnected || this.closing) return;
        this.disconnected = true;
        this.logConnectionError(new Error('connection lost'));
      });
      this.client.on('ready', () => {
        this.connectionError = undefined;
        if (!this.disconnected) return;
        this.disconnected = false;
        this.logger.log('Redis session store connected again');
      });
    }
    this.client.defineCommand(COMMANDS.read, { numberOfKeys: this.keys.length, lua: READ_SCRIPT });
    this.client.defineCommand(COMMANDS.upsert, { numberOfKeys: this.keys.length, lua: UPSERT_SCRIPT });
    this.client.defineCommand(COMMANDS.remove, { numberOfKeys: this.keys.length, lua: REMOVE_SCRIPT });
  }

  /**
   * Waits up to `commandTimeoutMs` for the own connection, so the first requests after start-up
   * find it open. Never fails: an instance may start while Redis is down and serve 503 until it is back.
   */
  async connected(): Promise<void> {
    if (!this.ownsClient || this.client.status === 'ready') return;
    await this.withinDeadline(
      new Promise<void>((resolve) => {
        this.client.once('ready', resolve);
      }),
    ).catch(() => undefined);
  }

  upsert(sessions: readonly StoredSession[], now: number): Promise<void> {
    const cutoff = now - this.ttlMs;
    const active = sessions.filter((session) => session.seenAt > cutoff);
    if (active.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ sessions: active, now, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async remove(ids: readonly string[], _now?: number): Promise<void> {
    const remove = this.command(COMMANDS.remove);
    for (let start = 0; start < ids.length; start += UPSERT_CHUNK) {
      await this.call(remove(...this.keys, ...ids.slice(start, start + UPSERT_CHUNK)));
    }
  }

  /**
   * Expires what is due, in as many calls as a mass expiry needs, and answers the revision. Each
   * call commits its share, so a sweep cut short by the deadline is carried on by the next read,
   * here or on another instance.
   */
  async revision(now: number): Promise<string> {
    const read = this.command(COMMANDS.read);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const [revision, more] = (await this.call(read(...this.keys, now - this.ttlMs), deadline)) as [string, number];
      if (more === 0) return revision;
    }
  }

  /**
   * Reads the change feed from where the last read stopped: only the IPs whose counts changed since,
   * so a dashboard at a million sessions does not re-read half a million counts. The first read,
   * and one that fell behind the feed's floor, reads every IP.
   */
  aggregates(now: number): Promise<SessionAggregates> {
    const read = this.feedRead.then(() => this.readFeed(now));
    this.feedRead = read.catch(() => undefined);
    return read;
  }

  async find(ids: readonly string[], now: number): Promise<Map<string, StoredSession>> {
    const cutoff = now - this.ttlMs;
    const found = new Map<string, StoredSession>();
    for (let start = 0; start < ids.length; start += FIND_CHUNK) {
      const chunk = ids.slice(start, start + FIND_CHUNK);
      const packed = await this.call(this.client.hmget(this.keys[0], ...chunk));
      chunk.forEach((id, index) => {
        const value = packed[index];
        if (value === null) return;
        const session = unpack(id, value);
        if (session.seenAt > cutoff) found.set(id, session);
      });
    }
    return found;
  }

  async ping(): Promise<void> {
    await this.call(this.client.ping());
  }

  /** Sends the upserts still queued, then closes the own connection (a host's client stays open). */
  async onApplicationShutdown(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    await Promise.allSettled([...this.inFlight]);
    const client = this.client as Redis;
    if (!this.ownsClient || isClosed(client)) return;
    this.closing = true;
    try {
      await this.withinDeadline(client.quit());
    } catch {
      // Not connected, or no answer in time: close without waiting for Redis.
      if (!isClosed(client)) client.disconnect();
    }
  }

  private async readFeed(now: number): Promise<SessionAggregates> {
    // Pages come as Buffers: the IPs are parsed in slices, never as one multi-megabyte string.
    const read = this.command(`${COMMANDS.read}Buffer`);
    for (;;) {
      const { generation, revision } = this.feedPosition;
      const reply = (await this.call(read(...this.keys, now - this.ttlMs, generation, revision))) as FeedPage;
      if (Number(reply[1]) === 1) continue; // sessions came due meanwhile: the call swept them
      const [currentRevision, , pageGeneration, upTo, last, fresh, counts] = reply;
      if (fresh === 1) {
        this.sessionsByIp = new ShardedMap();
        this.changedIps.forget();
      }
      await applyIpCounts(counts, this.sessionsByIp, this.changedIps);
      this.feedPosition = { generation: String(pageGeneration), revision: String(upTo) };
      if (last === 1) {
        return {
          revision: String(currentRevision),
          totalCount: reply[7]!,
          sessionsByIp: this.sessionsByIp,
          sessionsByVersion: countsOf(reply[8]!.map(String)),
          changedIps: this.changedIps.take(),
        };
      }
    }
  }

  /**
   * Sends every queued upsert, in chunks of {@link UPSERT_CHUNK} sessions. Callers settle together:
   * a failure of Redis concerns them all alike.
   */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    // A session touched several times in one batch is written once, with its newest sighting
    // (on a tie, the later call's), which is what writing them one after the other would leave.
    const newest = new Map<string, StoredSession>();
    let now = 0;
    for (const pending of batch) {
      now = Math.max(now, pending.now);
      for (const session of pending.sessions) {
        const known = newest.get(session.id);
        if (!known || known.seenAt <= session.seenAt) newest.set(session.id, session);
      }
    }
    // A fresh generation is only taken when Redis holds none, e.g. after it lost its data: the
    // counter starts again from zero, and the new name keeps old revisions from matching.
    const header = [now - this.ttlMs, this.ttlMs + KEY_GRACE_MS, randomBytes(6).toString('hex')];
    const upsert = this.command(COMMANDS.upsert);
    const chunks: Promise<unknown>[] = [];
    let rows: string[][] = [];
    const send = () => chunks.push(this.call(upsert(...this.keys, ...header, JSON.stringify(rows))));
    for (const session of newest.values()) {
      rows.push([wellFormed(session.id), String(session.seenAt), session.ip, wellFormed(session.clientVersion)]);
      if (rows.length === UPSERT_CHUNK) {
        send();
        rows = [];
      }
    }
    if (rows.length > 0) send();
    const written = Promise.all(chunks).then(
      () => batch.forEach((pending) => pending.resolve()),
      (error: unknown) => batch.forEach((pending) => pending.reject(error)),
    );
    this.inFlight.add(written);
    void written.then(() => this.inFlight.delete(written));
  }

  private command(name: string): ScriptCommand {
    return (this.client as unknown as Record<string, ScriptCommand>)[name].bind(this.client);
  }

  /**
   * A Redis call bounded by the deadline; any failure becomes {@link StoreUnavailableError}. While
   * the own connection is down, its cause is the connection's error (`connect ECONNREFUSED ...`),
   * not what ioredis says of the command ("Stream isn't writeable ...", "Connection is closed.").
   */
  private async call<T>(reply: Promise<T>, deadline = Date.now() + this.timeoutMs): Promise<T> {
    try {
      return await this.withinDeadline(reply, deadline);
    } catch (error) {
      const cause = this.connectionError !== undefined && this.client.status !== 'ready' ? this.connectionError : error;
      throw cause === error && error instanceof StoreUnavailableError ? error : new StoreUnavailableError(cause);
    }
  }

  private withinDeadline<T>(promise: Promise<T>, deadline = Date.now() + this.timeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(new Error(`Redis did not answer within ${this.timeoutMs} ms`))),
        Math.max(0, deadline - Date.now()),
      );
    });
    promise.catch(() => undefined); // a late failure after the deadline is not an unhandled rejection
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** One line per interval however often the client retries, with the number of errors in between. */
  private logConnectionError(error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLogAt < ERROR_LOG_INTERVAL_MS) {
      this.suppressedErrors++;
      return;
    }
    const suppressed = this.suppressedErrors ? ` (${this.suppressedErrors} similar errors since the last report)` : '';
    this.lastErrorLogAt = now;
    this.suppressedErrors = 0;
    this.logger.error(`Redis session store: ${error.message}${suppressed}; retrying in the background`);
  }
}

/** A page of the change feed; see READ_SCRIPT. */
type FeedPage = [Buffer, number, Buffer, number, number, number, Buffer, number?, Buffer[]?];

/**
 * Applies the "ip,count,ip,count" of a page (a count of 0: the IP has no session left), yielding
 * to the event loop every few milliseconds.
 */
async function applyIpCounts(text: Buffer, counts: ShardedMap<number>, changed: ChangedKeys): Promise<void> {
  const slice = new Slice(4096);
  let position = 0;
  while (position < text.length) {
    const afterIp = text.indexOf(COMMA, position);
    const ip = text.toString('latin1', position, afterIp);
    let count = 0;
    for (position = afterIp + 1; position < text.length && text[position] !== COMMA; position++) {
      count = count * 10 + text[position] - DIGIT_ZERO;
    }
    if (count === 0) counts.delete(ip);
    else counts.set(ip, count);
    changed.add(ip);
    position++;
    if (slice.due()) await slice.pause();
  }
}

const COMMA = 0x2c;
const DIGIT_ZERO = 0x30;

function countsOf(flat: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) counts.set(flat[i], Number(flat[i + 1]));
  return counts;
}

function unpack(id: string, packed: string): StoredSession {
  const first = packed.indexOf('|');
  const second = packed.indexOf('|', first + 1);
  return {
    id,
    seenAt: Number(packed.slice(0, first)),
    ip: packed.slice(first + 1, second),
    clientVersion: packed.slice(second + 1),
  };
}

/**
 * The text as Redis stores it: a lone UTF-16 surrogate, which has no UTF-8 form, becomes U+FFFD,
 * as it does in any other argument; Lua's JSON decoder would refuse it.
 */
function wellFormed(text: string): string {
  const checked = text as unknown as WellFormedString;
  return checked.isWellFormed() ? text : checked.toWellFormed();
}

/** String methods of ES2024, present in Node 20. */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * The connection's error as one Error with a message: connecting to a name with several addresses
 * (`localhost`: ::1 and 127.0.0.1) fails with an AggregateError whose own message is empty. A new
 * Error also passes `instanceof Error` where Node's own errors come from another realm (Jest's VM).
 */
function connectionError(error: Error): Error {
  const errors = (error as Partial<AggregateError>).errors;
  const message =
    error.message ||
    (Array.isArray(errors) ? errors.map((each: { message?: string }) => each?.message ?? String(each)).join('; ') : '') ||
    String(error);
  return Object.assign(new Error(message, { cause: error }), { code: (error as NodeJS.ErrnoException).code });
}

/** Closing an ended client again would leave a timer of ioredis running. */
function isClosed(client: Redis): boolean {
  return client.status === 'end';
}
