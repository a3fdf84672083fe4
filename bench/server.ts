/**
 * Server process of the benchmark: a Nest app with only the StatsModule, on Express or Fastify,
 * populated with N sessions, listening on 127.0.0.1. The orchestrator (run.ts) drives it over IPC.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Cluster } from 'ioredis';
import {
  MemorySessionStore,
  SESSION_STORE,
  SessionsService,
  StatsModule,
  type SessionStore,
  type TouchSessionInput,
} from '../src/stats';
import type { FromServer, PhaseFigures, ServerConfig, ServerStats, ToServer, TouchBenchResult } from './protocol';
import { ipsFor, ipText, sampleIps, sessionBatches, versionPicker } from './workload';

const config: ServerConfig = JSON.parse(process.env.BENCH_SERVER_CONFIG ?? 'null');
const POPULATE_BATCH = 1000;
/** Batches of touchMany in flight while populating a Redis store (it is network-bound). */
const REDIS_POPULATE_IN_FLIGHT = 8;
/** Populated sessions kept aside to be refreshed by the touch benchmark. */
const REFRESH_SAMPLE = 20_000;
/** New-session touches pick their IP among these. */
const KEPT_IPS = 10_000;
const LOOP_RESOLUTION_MS = 5;
/** Blocks at least this long are kept (the few longest per phase) to be explained from the profile. */
const LONG_BLOCK_MS = 20;
const KEPT_BLOCKS = 3;

/** When a block ended, on the monotonic clock that CPU profiles use (microseconds). */
interface LongBlock {
  ms: number;
  cpuMs: number;
  endMicros: number;
}

function send(message: FromServer): void {
  process.send!(message);
}

/**
 * CPU profile per phase (BENCH_PROFILE_DIR set), so that the time of a phase is not mixed with
 * start-up and population. Profiling slows the process: figures of a profiled run are not targets.
 */
class PhaseProfiler {
  private readonly session = new Session();
  private phase: string | null = null;

  constructor(
    private readonly dir: string,
    private readonly label: string,
  ) {
    this.session.connect();
  }

  /** `blocks`: the longest event-loop blocks of the phase that ends, for the summary to explain. */
  async switchTo(phase: string | null, blocks: LongBlock[] = []): Promise<void> {
    const finished = this.phase;
    this.phase = phase;
    if (finished) {
      const { profile } = await this.post<{ profile: object }>('Profiler.stop');
      await writeFile(join(this.dir, `${this.label}-${finished}.cpuprofile`), JSON.stringify(profile));
      await writeFile(join(this.dir, `${this.label}-${finished}.blocks.json`), JSON.stringify(blocks));
    }
    if (phase) {
      await this.post('Profiler.enable');
      await this.post('Profiler.start');
    }
  }

  private post<T = unknown>(method: string): Promise<T> {
    return new Promise((resolve, reject) =>
      this.session.post(method, (error, result) => (error ? reject(error) : resolve(result as T))),
    );
  }
}

const profiler = process.env.BENCH_PROFILE_DIR
  ? new PhaseProfiler(process.env.BENCH_PROFILE_DIR, `${config.platform}-${config.store}-${config.sessions}`)
  : null;
let profiling: Promise<void> = Promise.resolve();

/**
 * Longest event-loop block and GC pause, per phase named by the orchestrator. A timer due every
 * 5 ms measures how late it runs (a drift monitor): unlike a histogram started per phase, it also
 * catches a block that begins right at the start of a phase, and it tells apart, through the
 * process's CPU time over the same span, our own work from waiting for a core on a busy machine.
 */
class LoopWatch {
  readonly phases: Record<string, PhaseFigures> = {};
  /** The few longest blocks of each phase, with when they ended. */
  private readonly longest: Record<string, LongBlock[]> = {};
  private phase = 'startup';
  private lastTick = performance.now();
  private lastCpu = process.cpuUsage();
  private readonly gc = new PerformanceObserver((list) => {
    const figures = this.figures(this.phase);
    for (const entry of list.getEntries()) figures.maxGcMs = Math.max(figures.maxGcMs, entry.duration);
  });

  constructor() {
    this.gc.observe({ entryTypes: ['gc'] });
    setInterval(() => this.tick(), LOOP_RESOLUTION_MS).unref();
  }

  start(phase: string): void {
    this.tick(); // the time since the last tick belongs to the phase that is ending
    if (profiler && phase !== this.phase) {
      const blocks = this.longest[this.phase] ?? [];
      profiling = profiling.then(() => profiler.switchTo(phase, blocks));
    }
    this.phase = phase;
  }

  snapshot(): Record<string, PhaseFigures> {
    this.tick();
    return structuredClone(this.phases);
  }

  private tick(): void {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const lateMs = now - this.lastTick - LOOP_RESOLUTION_MS;
    const cpuMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000;
    const figures = this.figures(this.phase);
    figures.maxBlockMs = Math.max(figures.maxBlockMs, lateMs);
    // CPU time counts every thread (GC helpers too), so it can exceed the wall time.
    figures.maxCpuBlockMs = Math.max(figures.maxCpuBlockMs, Math.min(lateMs, cpuMs));
    if (lateMs >= LONG_BLOCK_MS) {
      const blocks = (this.longest[this.phase] ??= []);
      blocks.push({ ms: lateMs, cpuMs, endMicros: Number(process.hrtime.bigint() / 1000n) });
      blocks.sort((a, b) => b.ms - a.ms).splice(KEPT_BLOCKS);
    }
    this.lastTick = now;
    this.lastCpu = cpu;
  }

  private figures(phase: string): PhaseFigures {
    return (this.phases[phase] ??= { maxBlockMs: 0, maxCpuBlockMs: 0, maxGcMs: 0 });
  }
}

/** A cluster's client is the host's own: the module never closes it, and the process's exit does. */
function redisOptions({ url, clusterNodes, keyPrefix }: NonNullable<ServerConfig['redis']>) {
  if (!clusterNodes) return { url, keyPrefix };
  const nodes = clusterNodes.map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) }));
  return { client: new Cluster(nodes, { redisOptions: { connectionName: 'stats-bench' } }), keyPrefix };
}

@Module({
  imports: [
    StatsModule.forRoot({
      auth: { secret: config.secret },
      versionPolicy: { full: '>=6.0.0', partial: '>=5.5.0 <6.0.0' },
      sessions: { ttlSeconds: config.ttlSeconds, ...(config.redis ? { redis: redisOptions(config.redis) } : {}) },
    }),
  ],
})
class BenchAppModule {}

async function main(): Promise<void> {
  // The address list is made before any measurement: it is the workload, not the server's work.
  const { ips, continents } = sampleIps(ipsFor(config.sessions), config.seed);
  const loop = new LoopWatch();

  const adapter = config.platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(BenchAppModule, adapter, { logger: false });
  await app.init();
  const store = app.get<SessionStore>(SESSION_STORE);
  const storeClass = store.constructor?.name ?? 'unknown';
  if (config.store === 'redis' && store instanceof MemorySessionStore) {
    send({ type: 'unavailable', reason: 'sessions.redis is given but the module still built the in-memory store' });
    await app.close();
    process.exit(0);
  }
  await store.ping();
  const sessions = app.get(SessionsService);
  const startRss = process.memoryUsage().rss;

  loop.start('population');
  const started = process.hrtime.bigint();
  const refreshable: TouchSessionInput[] = [];
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = config.store === 'redis' ? REDIS_POPULATE_IN_FLIGHT : 1;
  const used = { ips: 0 };
  const sampleEvery = Math.max(1, Math.floor(config.sessions / REFRESH_SAMPLE));
  for (const batch of sessionBatches(config.sessions, ips, POPULATE_BATCH, config.seed, used)) {
    for (let i = 0; i < batch.length && refreshable.length < REFRESH_SAMPLE; i += sampleEvery)
      refreshable.push(batch[i]);
    const call = sessions.touchMany(batch).finally(() => inFlight.delete(call));
    inFlight.add(call);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    // Hosts report sessions as their traffic comes, so requests are served between batches.
    await nextTurn();
  }
  await Promise.all(inFlight);
  const populateSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  // The benchmark's own bookkeeping (half a million continents counted at 1M): not a population block.
  loop.start('listen');
  const keptIps = Array.from(ips.subarray(0, Math.min(KEPT_IPS, used.ips)), ipText);
  const perContinent: Record<string, number> = {};
  for (const continent of continents.slice(0, used.ips)) perContinent[continent] = (perContinent[continent] ?? 0) + 1;
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  send({ type: 'ready', port, storeClass, startRss, populateSeconds, distinctIps: used.ips, continents: perContinent });

  let total = config.sessions;
  const pickVersion = versionPicker(config.seed + 7);
  const newSession = (): TouchSessionInput => ({
    id: randomUUID(),
    ip: keptIps[Math.floor(Math.random() * keptIps.length)],
    clientVersion: pickVersion(),
  });

  process.on('message', (message: ToServer) => {
    handle(message).catch((error: Error) => send({ type: 'error', message: error.stack ?? String(error) }));
  });

  async function handle(message: ToServer): Promise<void> {
    switch (message.type) {
      case 'phase':
        loop.start(message.name);
        return;
      case 'touch-new':
        await sessions.touch(newSession());
        send({ type: 'touched', totalExpected: ++total });
        return;
      case 'stats': {
        const memory = process.memoryUsage();
        const stats: ServerStats = {
          rss: memory.rss,
          maxRss: process.resourceUsage().maxRSS * 1024,
          heapUsed: memory.heapUsed,
          phases: loop.snapshot(),
        };
        send({ type: 'stats', stats });
        return;
      }
      case 'cpu': {
        const { user, system } = process.cpuUsage();
        send({ type: 'cpu', micros: user + system });
        return;
      }
      case 'touch-bench':
        send({ type: 'touch-bench', result: await touchBench(sessions, message, newSession, refreshable) });
        return;
      case 'exit':
        await (profiling = profiling.then(() => profiler?.switchTo(null)));
        await closeQuietly(app);
        process.exit(0);
    }
  }
}

/**
 * Touch throughput on a mix of new sessions and refreshes of populated ones (half each). Inputs
 * are made in chunks outside the timed sections; the store sees them as a host would send them.
 * With concurrency 1 the calls are sequential; above, that many calls are kept in flight.
 */
async function touchBench(
  sessions: SessionsService,
  { durationMs, concurrency }: { durationMs: number; concurrency: number },
  newSession: () => TouchSessionInput,
  refreshable: readonly TouchSessionInput[],
): Promise<TouchBenchResult> {
  const chunkSize = concurrency === 1 ? 1000 : concurrency * 10;
  const wallDeadline = Date.now() + durationMs * 5 + 5000;
  let timedNs = 0n;
  let cpuMicros = 0;
  let touches = 0;
  let fresh = 0;
  while (Number(timedNs) / 1e6 < durationMs && Date.now() < wallDeadline) {
    const chunk: TouchSessionInput[] = [];
    for (let i = 0; i < chunkSize; i++) {
      if (i % 2 === 0 || refreshable.length === 0) {
        chunk.push(newSession());
        fresh++;
      } else {
        chunk.push(refreshable[Math.floor(Math.random() * refreshable.length)]);
      }
    }
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    if (concurrency === 1) {
      for (const input of chunk) await sessions.touch(input);
    } else {
      let next = 0;
      const lane = async () => {
        while (next < chunk.length) await sessions.touch(chunk[next++]);
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
    }
    timedNs += process.hrtime.bigint() - started;
    const cpu = process.cpuUsage(cpuBefore);
    cpuMicros += cpu.user + cpu.system;
    touches += chunk.length;
    await nextTurn(); // requests and timers run between chunks, as they would in a host
  }
  const seconds = Number(timedNs) / 1e9;
  return {
    touches,
    seconds,
    perSecond: touches / seconds,
    perCpuSecond: touches / (cpuMicros / 1e6),
    newShare: fresh / touches,
  };
}

async function closeQuietly(app: INestApplication): Promise<void> {
  const timeout = new Promise((resolve) => setTimeout(resolve, 5000).unref());
  await Promise.race([app.close().catch(() => undefined), timeout]);
}

// The orchestrator gone means nobody will ever ask this process to exit.
process.on('disconnect', () => process.exit(0));

main().catch((error: Error) => {
  send({ type: 'error', message: error.stack ?? String(error) });
  process.exit(1);
});
