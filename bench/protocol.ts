/** Messages between the orchestrator (run.ts) and the server process (server.ts), over fork IPC. */

/** `cluster`: the Redis store on a local Redis Cluster of three masters with a replica each. */
export type StoreKind = 'memory' | 'redis' | 'cluster';

/** The host's HTTP platform: Nest's Express or Fastify adapter. */
export type PlatformKind = 'express' | 'fastify';

/** What the orchestrator hands the server process, as JSON in BENCH_SERVER_CONFIG. */
export interface ServerConfig {
  platform: PlatformKind;
  store: StoreKind;
  sessions: number;
  seed: number;
  secret: string;
  ttlSeconds: number;
  /** A standalone Redis by `url`, or a cluster by its nodes (`host:port`). */
  redis?: { url?: string; clusterNodes?: string[]; keyPrefix: string };
}

export type ToServer =
  /** Starts measuring the event loop under this phase name. */
  | { type: 'phase'; name: string }
  /** Touches one new session, so the next dashboard has to be computed. */
  | { type: 'touch-new' }
  | { type: 'stats' }
  /** CPU time the server process has used so far (all threads), to cost one request. */
  | { type: 'cpu' }
  | { type: 'touch-bench'; durationMs: number; concurrency: number }
  | { type: 'exit' };

export interface PhaseFigures {
  /** Longest event-loop block seen, ms: how late a timer due every 5 ms ran. */
  maxBlockMs: number;
  /** The same, counting only time the process was on a CPU: its own work, not waiting for a core. */
  maxCpuBlockMs: number;
  /** Longest garbage-collection pause, ms. */
  maxGcMs: number;
}

export interface ServerStats {
  rss: number;
  maxRss: number;
  heapUsed: number;
  phases: Record<string, PhaseFigures>;
}

export interface TouchBenchResult {
  touches: number;
  /** Time spent in touch calls only (inputs are made outside the timed sections). */
  seconds: number;
  perSecond: number;
  /** Touches per CPU second of the server process, whatever else runs on the machine. */
  perCpuSecond: number;
  newShare: number;
}

export type FromServer =
  | {
      type: 'ready';
      port: number;
      storeClass: string;
      /** RSS once the app is up, before any session: Nest, the GeoIP database, the workload's addresses. */
      startRss: number;
      populateSeconds: number;
      distinctIps: number;
      continents: Record<string, number>;
    }
  /** The requested store cannot run here (e.g. the Redis store is not in this build yet). */
  | { type: 'unavailable'; reason: string }
  | { type: 'touched'; totalExpected: number }
  | { type: 'stats'; stats: ServerStats }
  | { type: 'cpu'; micros: number }
  | { type: 'touch-bench'; result: TouchBenchResult }
  | { type: 'error'; message: string };
