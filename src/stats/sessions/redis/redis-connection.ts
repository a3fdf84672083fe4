import { Logger } from '@nestjs/common';
import Redis, { type Cluster } from 'ioredis';
import { withinDeadline } from '../../common/deadline';
import { ThrottledLog } from '../../common/throttled-log';
import { StoreOutcomeUnknownError } from '../../errors/store-outcome-unknown.error';
import { StoreUnavailableError } from '../../errors/store-unavailable.error';

const ERROR_LOG_INTERVAL_MS = 30_000;

export interface RedisConnectionOptions {
  /** `redis://` or `rediss://` URL: a connection of the store's own, closed on shutdown. */
  url?: string;
  /** An ioredis client or cluster of the host; never closed here. */
  client?: Redis | Cluster;
  /** Bound on each call. */
  commandTimeoutMs: number;
}

/** Whether a call changes the store: then a call sent but not answered has an unknown outcome. */
export type CallKind = 'read' | 'write';

/**
 * The store's Redis client, and the one way calls go through it: bounded by a deadline, refused at
 * once while the client is not connected (nothing is sent, so nothing can be applied later), and
 * failing with the connection's own problem (`connect ECONNREFUSED 127.0.0.1:6399`) rather than
 * ioredis's words about its stream.
 */
export class RedisConnection {
  readonly client: Redis | Cluster;
  readonly ownsClient: boolean;
  private readonly logger = new Logger('StatsModule');
  private lastError: Error | null = null;
  private readonly errors = new ThrottledLog(ERROR_LOG_INTERVAL_MS, (line) => this.logger.error(line));
  private disconnected = false;
  private closing = false;
  private slotsRefreshedAt = 0;

  constructor(private readonly options: RedisConnectionOptions) {
    if (options.client !== undefined) {
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
    }
    // A host's client keeps its own error handling: a listener here would silence ioredis's report.
    if (this.ownsClient) {
      this.client.on('error', (error: Error) => {
        this.lastError = connectionError(error);
        this.logConnectionError(this.lastError);
      });
      this.client.on('ready', () => {
        this.lastError = null;
        if (!this.disconnected) return;
        this.disconnected = false;
        this.logger.log('Redis session store connected again');
      });
      this.client.on('close', () => {
        this.lastError ??= new Error('connection to Redis closed');
        if (this.disconnected || this.closing) return;
        this.disconnected = true;
        this.logConnectionError(this.lastError ?? new Error('connection lost'));
      });
    }
  }

  /**
   * Waits up to `commandTimeoutMs` for the own connection, so the first requests after start-up
   * find it open. Never fails: an instance may start while Redis is down and serve 503 until it is back.
   */
  async connected(): Promise<void> {
    if (this.client.status === 'ready') return;
    const ready = new Promise<void>((resolve) => this.client.once('ready', resolve));
    await withinDeadline(ready, Date.now() + this.options.commandTimeoutMs, () => new Error('not ready')).catch(
      () => undefined,
    );
  }

  /**
   * Runs `issue` (which sends one command) within `deadline`. Fails with StoreUnavailableError
   * when nothing was sent or Redis refused the call, and for a write that was sent without an
   * answer in time, with StoreOutcomeUnknownError.
   */
  async call<T>(
    issue: () => Promise<T>,
    kind: CallKind,
    deadline = Date.now() + this.options.commandTimeoutMs,
  ): Promise<T> {
    if (this.client.status !== 'ready') await this.readyBy(deadline);
    let sent: Promise<T>;
    try {
      sent = issue();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
    const sentAt = Date.now();
    let reply: T;
    try {
      reply = await withinDeadline(
        sent,
        deadline,
        () => new Error(`Redis did not answer within ${this.options.commandTimeoutMs} ms`),
      );
    } catch (error) {
      this.refreshSlotsAfterSilence();
      throw this.failure(error, kind);
    }
    // A node that stalled this long may have been replaced meanwhile (a master that hung past its
    // failover answers what it was sent as soon as it runs again, from data its replica no longer
    // shares): its answer is not trusted, and a write it applied may be lost with it.
    if (Date.now() - sentAt > this.options.commandTimeoutMs / 2 && (this.client as Cluster).isCluster) {
      this.refreshSlotsAfterSilence();
      const stalled = new Error(
        `a Redis Cluster node answered after ${Date.now() - sentAt} ms, too late to be trusted`,
      );
      throw kind === 'write' ? new StoreOutcomeUnknownError(stalled) : new StoreUnavailableError(stalled);
    }
    return reply;
  }

  /**
   * A cluster node that stopped answering may have been replaced by its replica: ioredis learns of
   * a promotion only from a redirection or an error, and a node that hangs gives neither. At most
   * every 200 ms.
   */
  private refreshSlotsAfterSilence(): void {
    const cluster = this.client as Cluster;
    if (!cluster.isCluster || Date.now() - this.slotsRefreshedAt < 200) return;
    this.slotsRefreshedAt = Date.now();
    cluster.refreshSlotsCache(() => undefined);
  }

  /** Closes the own connection (a host's client stays open). */
  async close(): Promise<void> {
    const client = this.client as Redis;
    if (!this.ownsClient || isEnded(client)) return;
    this.closing = true;
    try {
      await withinDeadline(
        client.quit(),
        Date.now() + this.options.commandTimeoutMs,
        () => new Error('no answer to QUIT'),
      );
    } catch {
      // Not connected, or no answer in time: close without waiting for Redis.
      if (!isEnded(client)) client.disconnect();
    }
  }

  private failure(error: unknown, kind: CallKind): Error {
    const message = error instanceof Error ? error.message : String(error);
    // While the connection is down, its own error says why, not ioredis's words about the command.
    const cause = this.client.status !== 'ready' && this.lastError ? this.lastError : error;
    // ioredis refused to send (offline queue off): nothing was sent.
    if (message.includes("Stream isn't writeable") || message.includes("Cluster isn't ready")) {
      return new StoreUnavailableError(this.lastError ?? error);
    }
    // Redis answered with an error: a refused script changes nothing.
    if (error instanceof Error && error.name === 'ReplyError') return new StoreUnavailableError(error);
    return kind === 'write' ? new StoreOutcomeUnknownError(cause) : new StoreUnavailableError(cause);
  }

  /**
   * Waits for a connection under way (the first one of a host's client); fails at once while the
   * client is between attempts or closed. Nothing is ever left in ioredis's offline queue, which
   * would send it whenever the connection comes back.
   */
  private async readyBy(deadline: number): Promise<void> {
    const status = this.client.status as string;
    if (status !== 'connecting' && status !== 'connect') throw new StoreUnavailableError(this.notConnected());
    let settle = () => undefined as void;
    const ready = new Promise<void>((resolve, reject) => {
      const onReady = () => (settle(), resolve());
      // An attempt that fails closes the connection: the client is between attempts now.
      const onClose = () => (settle(), reject(new StoreUnavailableError(this.notConnected())));
      settle = () => {
        this.client.off('ready', onReady);
        this.client.off('close', onClose);
      };
      this.client.once('ready', onReady);
      this.client.once('close', onClose);
    });
    try {
      await withinDeadline(ready, deadline, () => new StoreUnavailableError(this.notConnected()));
    } finally {
      settle();
    }
  }

  private notConnected(): Error {
    return this.lastError ?? new Error(`Redis connection is ${this.client.status}`);
  }

  /** One line per interval however often the client retries, with the number of errors in between. */
  private logConnectionError(error: Error): void {
    this.errors.report('connection', `Redis session store: ${error.message}`, '; retrying in the background');
  }
}

/** Closing an ended client again would leave a timer of ioredis running. */
function isEnded(client: Redis): boolean {
  return (client.status as string) === 'end';
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
    (Array.isArray(errors)
      ? errors.map((each: { message?: string }) => each?.message ?? String(each)).join('; ')
      : '') ||
    String(error);
  return Object.assign(new Error(message, { cause: error }), { code: (error as NodeJS.ErrnoException).code });
}
