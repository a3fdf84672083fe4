import type { INestApplication } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { Cluster } from 'ioredis';
import request from 'supertest';
import { RedisSessionStore, SessionsService, StoreOutcomeUnknownError, StoreUnavailableError } from '../src/stats';
import { describeSessionStoreContract } from '../src/stats/sessions/session-store.contract';
import {
  checkDashboard,
  DashboardReference,
  normalised,
  summary,
  testSession,
  type TestSession,
} from './support/dashboard-reference';
import { eventually } from './support/eventually';
import { uniqueKeyPrefix } from './support/redis';
import { hasRedisCli, LocalRedisCluster, parseNodeList, sleep, type ClusterNode } from './support/redis-cluster';
import { hasRedisServer } from './support/redis-server';
import { createStatsApp, DASHBOARD } from './support/stats-app';
import { bearer } from './support/tokens';

/**
 * The StatsModule on a real Redis Cluster (three masters with a replica each, on 127.0.0.1), with
 * `sessions.redis.client` an ioredis `Cluster` as a host gives it. Everything goes through the
 * public surface (the route over HTTP, SessionsService, the SessionStore contract), so these specs
 * hold any store layout to the same figures.
 *
 * Specs without faults run on the cluster of REDIS_CLUSTER_NODES (`.ci/run` starts one), else on a
 * cluster of this file's own. Faults (a master killed, a master hanging, a restart from snapshots)
 * always run on the file's own cluster, started once (about 2 s) and repaired after each spec.
 */

const TTL_SECONDS = 60;
/** The fault specs' bound on each Redis call. */
const COMMAND_TIMEOUT_MS = 500;
/** How long a dashboard request may take while Redis fails: a call for the revision, one for the figures, and slack. */
const UNAVAILABLE_WITHIN_MS = 3 * COMMAND_TIMEOUT_MS;
const UNAVAILABLE_BODY = { id: 'service_unavailable', message: 'Session store unavailable. Try again later.' };

const SHARED_NODES = process.env.REDIS_CLUSTER_NODES?.trim() || undefined;
const CAN_RUN = SHARED_NODES !== undefined || (hasRedisServer && hasRedisCli);
if (!CAN_RUN) {
  console.warn(
    'Redis Cluster specs SKIPPED: REDIS_CLUSTER_NODES is not set and redis-server/redis-cli are not on the PATH ' +
      '(apt-get install redis-server, or run .ci/run)',
  );
}
const describeCluster = CAN_RUN ? describe : describe.skip;

/** The file's own cluster, started on first use and stopped after the file. */
let ownCluster: Promise<LocalRedisCluster> | undefined;
function privateCluster(): Promise<LocalRedisCluster> {
  ownCluster ??= (async () => {
    const started = Date.now();
    const cluster = await new LocalRedisCluster({ nodeTimeoutMs: 1000 }).start();
    console.log(`private Redis Cluster on ${cluster.addresses.join(',')} started in ${Date.now() - started} ms`);
    return cluster;
  })();
  return ownCluster;
}

afterAll(async () => {
  const cluster = await ownCluster?.catch(() => undefined);
  await cluster?.stop();
});

/** Start-up nodes of the cluster the specs without faults use. */
async function sharedNodes(): Promise<Array<{ host: string; port: number }>> {
  return SHARED_NODES !== undefined ? parseNodeList(SHARED_NODES) : (await privateCluster()).startupNodes;
}

/** A cluster client as a host makes one; the host listens for its errors, the store reports its own failures. */
function clusterClient(nodes: Array<{ host: string; port: number }>): Cluster {
  const client = new Cluster(nodes);
  client.on('error', () => undefined);
  client.on('node error', () => undefined);
  return client;
}

/** One instance of the host: its own cluster client, the StatsModule on it, listening on 127.0.0.1. */
interface Instance {
  name: string;
  app: INestApplication;
  client: Cluster;
  sessions: SessionsService;
  get(): request.Test;
  close(): Promise<void>;
}

async function openInstance(
  name: string,
  nodes: Array<{ host: string; port: number }>,
  keyPrefix: string,
  commandTimeoutMs = 2000,
  waitForReplicas = 0,
): Promise<Instance> {
  const client = clusterClient(nodes);
  const app = await createStatsApp({
    sessions: { ttlSeconds: TTL_SECONDS, redis: { client, keyPrefix, commandTimeoutMs, waitForReplicas } },
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    name,
    app,
    client,
    sessions: app.get(SessionsService),
    get: () =>
      request(base)
        .get(DASHBOARD)
        .set('Authorization', bearer())
        .ok(() => true),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      client.disconnect();
    },
  };
}

/** The body of an instance's next dashboard that answers 200, polling while it answers 503. */
async function nextDashboard(instance: Instance, withinMs = 10_000): Promise<unknown> {
  return eventually(async () => {
    const response = await instance.get();
    if (response.status !== 200) throw new Error(`${instance.name} answered ${response.status}`);
    return response.body;
  }, withinMs);
}

/** Every key of a prefix, as the masters hold them. */
async function keysOf(admin: Cluster, prefix: string): Promise<string[]> {
  const keys = new Set<string>();
  await admin.ping(); // the slots are known from here on
  for (const node of admin.nodes('master')) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      batch.forEach((key) => keys.add(key));
      cursor = next;
    } while (cursor !== '0');
  }
  return [...keys].sort();
}

async function deleteKeysOf(admin: Cluster, prefix: string): Promise<void> {
  for (const key of await keysOf(admin, prefix)) await admin.del(key);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

describeCluster('StatsModule on a Redis Cluster (several instances)', () => {
  const runPrefix = uniqueKeyPrefix('cluster-e2e');
  const reference = new DashboardReference(TTL_SECONDS);
  let nodes: Array<{ host: string; port: number }>;
  let admin: Cluster;
  let prefixCount = 0;
  let keyPrefix: string;
  const instances: Instance[] = [];
  const open = async (name: string) => {
    const instance = await openInstance(name, nodes, keyPrefix);
    instances.push(instance);
    return instance;
  };

  beforeAll(async () => {
    nodes = await sharedNodes();
    admin = clusterClient(nodes);
  }, 60_000);

  beforeEach(() => {
    keyPrefix = `${runPrefix}${++prefixCount}:`;
  });

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
  });

  afterAll(async () => {
    await reference.close();
    if (admin) {
      await deleteKeysOf(admin, runPrefix);
      admin.disconnect();
    }
  });

  it('shows a session touched on one instance on the dashboard of another, with exact figures, and ends it for both', async () => {
    const a = await open('A');
    const b = await open('B');
    await a.sessions.touch({ id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0' });
    await a.sessions.touch({ id: 's2', ip: '8.8.8.8', clientVersion: '5.5.0' });
    await b.sessions.touch({ id: 's3', ip: '81.2.69.160', clientVersion: '6.1.0' });

    const onB = (await b.get().expect(200)).body;
    expect(onB).toEqual({
      totalCount: 3,
      geoIpData: [
        expect.objectContaining({ sessionCount: 2, countryCode: 'US', continentCode: 'NA', ips: ['8.8.8.8'] }),
        expect.objectContaining({ sessionCount: 1, countryCode: 'GB', continentCode: 'EU', ips: ['81.2.69.160'] }),
      ],
      versions: {
        '6.1.0': { supportStatus: 'full', sessionCount: 1 },
        '6.0.0': { supportStatus: 'full', sessionCount: 1 },
        '5.5.0': { supportStatus: 'partial', sessionCount: 1 },
      },
    });
    expect((await a.get().expect(200)).body).toEqual(onB);

    await b.sessions.end('s1');
    await a.sessions.end('s3');
    const expected = {
      totalCount: 1,
      geoIpData: [expect.objectContaining({ sessionCount: 1, countryCode: 'US', ips: ['8.8.8.8'] })],
      versions: { '5.5.0': { supportStatus: 'partial', sessionCount: 1 } },
    };
    expect(normalised((await a.get().expect(200)).body)).toEqual(expected);
    expect(normalised((await b.get().expect(200)).body)).toEqual(expected);
  });

  it('agrees on hundreds of sessions touched, moved and ended through both instances', async () => {
    const a = await open('A');
    const b = await open('B');
    const sessions = new Map<string, TestSession>();
    const first = Array.from({ length: 300 }, (_, index) => testSession(index));
    const second = Array.from({ length: 300 }, (_, index) => testSession(index + 200));
    // Sessions 200-249 are seen again on B, later and from another IP: the newest sighting counts.
    const moved = second.slice(0, 50).map((session, index) => ({ ...session, ip: testSession(1000 + index).ip }));
    await a.sessions.touchMany(first);
    await b.sessions.touchMany([...moved, ...second.slice(50)]);
    for (const session of [...first, ...moved, ...second.slice(50)]) sessions.set(session.id, session);
    for (let index = 0; index < 20; index++) {
      const id = testSession(index * 7).id;
      await (index % 2 ? a : b).sessions.end(id);
      sessions.delete(id);
    }

    const expected = await reference.dashboardOf(sessions.values());
    expect((expected as { totalCount: number }).totalCount).toBe(480);
    expect(normalised((await a.get().expect(200)).body)).toEqual(expected);
    expect(normalised((await b.get().expect(200)).body)).toEqual(expected);
  });

  it('expires a session once, whichever instances read at that moment', async () => {
    const a = await open('A');
    const b = await open('B');
    const expiresAt = Date.now() + 300;
    await a.sessions.touch({
      id: 'old',
      ip: '8.8.8.8',
      clientVersion: '6.0.0',
      seenAt: expiresAt - TTL_SECONDS * 1000,
    });
    await b.sessions.touch({ id: 'fresh', ip: '8.8.8.8', clientVersion: '6.0.0' });
    expect((await b.get().expect(200)).body.totalCount).toBe(2);

    await sleep(Math.max(0, expiresAt - Date.now()) + 50);
    const reads = await Promise.all([a, b, a, b, a, b].map((instance) => instance.get().expect(200)));
    for (const { body } of reads) {
      expect(body.totalCount).toBe(1);
      expect(body.geoIpData).toEqual([expect.objectContaining({ sessionCount: 1, ips: ['8.8.8.8'] })]);
      expect(body.versions).toEqual({ '6.0.0': { supportStatus: 'full', sessionCount: 1 } });
    }
  });

  it('keeps the sessions when an instance restarts', async () => {
    const first = await open('A');
    await first.sessions.touchMany(Array.from({ length: 20 }, (_, index) => testSession(index)));
    const before = (await first.get().expect(200)).body;
    await first.close();

    const restarted = await open('A again');
    expect(normalised((await restarted.get().expect(200)).body)).toEqual(normalised(before));
  });

  it("uses the host's Cluster client and leaves it open when the application closes", async () => {
    const instance = await open('A');
    await instance.sessions.touch({ id: 's1', ip: '8.8.8.8' });
    expect((await instance.get().expect(200)).body.totalCount).toBe(1);
    await instance.app.close();
    expect(await instance.client.ping()).toBe('PONG');
  });
});

describeCluster('RedisSessionStore on a Redis Cluster', () => {
  const runPrefix = uniqueKeyPrefix('cluster-contract');
  let client: Cluster | undefined;
  let storeCount = 0;

  afterAll(async () => {
    if (!client) return;
    await deleteKeysOf(client, runPrefix);
    client.disconnect();
  });

  describeSessionStoreContract(
    'RedisSessionStore with a Cluster client',
    async (ttlSeconds) => {
      client ??= clusterClient(await sharedNodes());
      return new RedisSessionStore({
        client,
        keyPrefix: `${runPrefix}${++storeCount}:`,
        commandTimeoutMs: 2000,
        ttlSeconds,
      });
    },
    (store) => (store as RedisSessionStore).onApplicationShutdown(),
  );
});

/** One dashboard request of the load, with what the figures had to reflect at that moment. */
interface Sample {
  instance: string;
  sentAt: number;
  receivedAt: number;
  status: number;
  body: unknown;
  /** Sessions acknowledged before the request went out: the dashboard must show them. */
  acknowledged: Set<string>;
  /** Sessions touched (acknowledged or not) before the answer came: the dashboard may show no others. */
  attempted: Set<string>;
  /** Set by the check: a 200 with exactly right figures. */
  right?: boolean;
}

interface TouchOutcome {
  instance: string;
  startedAt: number;
  endedAt: number;
  error?: unknown;
}

/**
 * Steady traffic on two instances: touches every 20 ms (two in three a new session, the others a
 * session seen again), alternating between the instances, up to 40 at a time; and on each instance
 * a dashboard request every 30 ms, one at a time. Both stop at `stopAt`, and are bounded in count.
 */
class SteadyLoad {
  static readonly TOUCH_EVERY_MS = 20;
  static readonly GET_EVERY_MS = 30;
  static readonly MAX_TOUCHES = 1200;
  static readonly MAX_GETS = 600;
  static readonly MAX_DURATION_MS = 25_000;

  readonly sessions = new Map<string, TestSession>();
  readonly acknowledged = new Set<string>();
  readonly attempted = new Set<string>();
  readonly samples: Sample[] = [];
  readonly touches: TouchOutcome[] = [];
  stopAt = 0;
  private created = 0;

  constructor(private readonly instances: Instance[]) {}

  /** Sessions touched one after the other before the load, all acknowledged. */
  async warmUp(count: number): Promise<void> {
    for (let index = 0; index < count; index++) {
      const session = this.newSession();
      this.attempted.add(session.id);
      await this.instances[index % this.instances.length].sessions.touch(session);
      this.acknowledged.add(session.id);
    }
  }

  /** Runs the touches and the dashboard requests until `stopAt` (at most MAX_DURATION_MS from now). */
  async run(): Promise<void> {
    this.stopAt = Date.now() + SteadyLoad.MAX_DURATION_MS;
    const hardStop = this.stopAt;
    const running = () => Date.now() < Math.min(this.stopAt, hardStop);
    await Promise.all([this.touchLoop(running), ...this.instances.map((instance) => this.getLoop(instance, running))]);
  }

  /** Checks every sample and touch; answers what was wrong, one line each. */
  async check(reference: DashboardReference, t0: number): Promise<string[]> {
    const problems: string[] = [];
    for (const sample of this.samples) {
      const at = `${sample.instance} GET sent at +${sample.sentAt - t0} ms`;
      const took = sample.receivedAt - sample.sentAt;
      if (sample.status === 503) {
        if (!isDeepStrictEqual(sample.body, UNAVAILABLE_BODY))
          problems.push(`${at}: 503 with ${JSON.stringify(sample.body)}`);
        if (took > UNAVAILABLE_WITHIN_MS) problems.push(`${at}: 503 after ${took} ms`);
      } else if (sample.status === 200) {
        const problem = await checkDashboard(reference, sample.body, sample, this.sessions);
        sample.right = problem === '';
        if (problem) problems.push(`${at}: ${problem}`);
      } else {
        problems.push(`${at}: ${sample.status} ${JSON.stringify(sample.body).slice(0, 200)}`);
      }
    }
    for (const touch of this.touches) {
      // Refused (nothing sent) or of unknown outcome (sent to a master that then died): both are 503s.
      const storeFailure =
        touch.error instanceof StoreUnavailableError || touch.error instanceof StoreOutcomeUnknownError;
      if (touch.error !== undefined && !storeFailure) {
        problems.push(`touch on ${touch.instance} at +${touch.startedAt - t0} ms failed with ${String(touch.error)}`);
      }
    }
    return problems;
  }

  /** Touches every session attempted so far again, until acknowledged: from then on all of them count. */
  async settle(): Promise<void> {
    const all = [...this.sessions.values()].filter((session) => this.attempted.has(session.id));
    await eventually(() => this.instances[0].sessions.touchMany(all), 10_000);
    all.forEach((session) => this.acknowledged.add(session.id));
  }

  private newSession(): TestSession {
    const session = testSession(this.created++);
    this.sessions.set(session.id, session);
    return session;
  }

  private async touchLoop(running: () => boolean): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for (let count = 0; running() && count < SteadyLoad.MAX_TOUCHES; count++) {
      if (inFlight.size < 40) {
        const known = [...this.attempted];
        const session =
          count % 3 === 2 && known.length > 0
            ? this.sessions.get(known[Math.floor(Math.random() * known.length)])!
            : this.newSession();
        const instance = this.instances[count % this.instances.length];
        const outcome: TouchOutcome = { instance: instance.name, startedAt: Date.now(), endedAt: 0 };
        this.attempted.add(session.id);
        const touch = instance.sessions.touch(session).then(
          () => {
            outcome.endedAt = Date.now();
            this.acknowledged.add(session.id);
          },
          (error: unknown) => {
            outcome.endedAt = Date.now();
            outcome.error = error;
          },
        );
        this.touches.push(outcome);
        inFlight.add(touch);
        void touch.finally(() => inFlight.delete(touch));
      }
      await sleep(SteadyLoad.TOUCH_EVERY_MS);
    }
    await Promise.all(inFlight);
  }

  private async getLoop(instance: Instance, running: () => boolean): Promise<void> {
    for (let count = 0; running() && count < SteadyLoad.MAX_GETS; count++) {
      const acknowledged = new Set(this.acknowledged);
      const sentAt = Date.now();
      const response = await instance.get();
      this.samples.push({
        instance: instance.name,
        sentAt,
        receivedAt: Date.now(),
        status: response.status,
        body: response.body,
        acknowledged,
        attempted: new Set(this.attempted),
      });
      await sleep(SteadyLoad.GET_EVERY_MS);
    }
  }
}

describeCluster('StatsModule on a Redis Cluster when a master fails', () => {
  const reference = new DashboardReference(TTL_SECONDS);
  let cluster: LocalRedisCluster;
  let prefixCount = 0;
  const runPrefix = uniqueKeyPrefix('cluster-faults');
  const instances: Instance[] = [];
  const open = async (name: string, keyPrefix: string, waitForReplicas = 0) => {
    const instance = await openInstance(name, cluster.startupNodes, keyPrefix, COMMAND_TIMEOUT_MS, waitForReplicas);
    instances.push(instance);
    return instance;
  };

  beforeAll(async () => {
    cluster = await privateCluster();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
    await cluster.repair();
  }, 60_000);

  afterAll(() => reference.close());

  /** The master holding most of the prefix's keys, with the slot of one of them. */
  async function masterOfStore(keyPrefix: string): Promise<{ master: ClusterNode; slot: number; keys: number }> {
    const byMaster = new Map<string, { master: ClusterNode; slot: number; keys: number }>();
    for (const master of await cluster.masters()) {
      for (const key of await cluster.keysOn(master.port, `${escapeGlob(keyPrefix)}*`)) {
        const slot = await cluster.keySlot(key);
        const entry = byMaster.get(master.id) ?? { master, slot, keys: 0 };
        entry.keys++;
        byMaster.set(master.id, entry);
      }
    }
    const [most] = [...byMaster.values()].sort((x, y) => y.keys - x.keys);
    if (!most) throw new Error(`no key of ${keyPrefix} on any master`);
    return most;
  }

  /** When each instance first got a right 200 at or after `since`, in ms after `since` (null: never). */
  function firstRight(load: SteadyLoad, since: number): Record<string, number | null> {
    const result: Record<string, number | null> = {};
    for (const { name } of instances) {
      const sample = load.samples.find((s) => s.instance === name && s.receivedAt >= since && s.right);
      result[name] = sample ? sample.receivedAt - since : null;
    }
    return result;
  }

  function expectRecovered(load: SteadyLoad, since: number, withinMs: number): void {
    for (const { name } of instances) {
      const first = load.samples.find((s) => s.instance === name && s.receivedAt >= since && s.right);
      expect({ instance: name, firstRightWithinMs: first ? first.receivedAt - since <= withinMs : false }).toEqual({
        instance: name,
        firstRightWithinMs: true,
      });
      const later = load.samples.filter((s) => s.instance === name && s.sentAt >= since + withinMs);
      expect(later.length).toBeGreaterThan(0);
      expect(later.filter((s) => !s.right).map((s) => `${s.status} at +${s.sentAt - since} ms`)).toEqual([]);
    }
  }

  function unavailableBetween(load: SteadyLoad, name: string, from: number, to: number): number {
    return load.samples.filter((s) => s.instance === name && s.status === 503 && s.sentAt >= from && s.sentAt < to)
      .length;
  }

  it('answers 503 or exactly right figures while a master is killed, and right figures within 1 s of the promotion', async () => {
    const keyPrefix = `${runPrefix}${++prefixCount}:`;
    const a = await open('A', keyPrefix);
    const b = await open('B', keyPrefix);
    const load = new SteadyLoad([a, b]);
    await load.warmUp(30);
    const { master, slot } = await masterOfStore(keyPrefix);

    const t0 = Date.now();
    const traffic = load.run();
    await sleep(1000);
    const killedAt = Date.now();
    await cluster.kill(master.port);
    const promotion = await cluster.waitForPromotion(master, slot);
    load.stopAt = promotion.at + 2500;
    await traffic;

    const problems = await load.check(reference, t0);
    const timeline = {
      killed: `${master.address} (slot ${slot})`,
      promotedAfterMs: promotion.at - killedAt,
      first503AfterKillMs: Object.fromEntries(
        instances.map(({ name }) => {
          const first = load.samples.find((s) => s.instance === name && s.status === 503 && s.sentAt >= killedAt);
          return [name, first ? first.receivedAt - killedAt : null];
        }),
      ),
      firstRight200AfterPromotionMs: firstRight(load, promotion.at),
      firstRight200AfterKillMs: firstRight(load, killedAt),
      firstAcknowledgedTouchAfterKillMs: (() => {
        const touch = load.touches.find((t) => t.startedAt >= killedAt && t.error === undefined);
        return touch ? touch.endedAt - killedAt : null;
      })(),
      gets: load.samples.length,
      unavailable: load.samples.filter((s) => s.status === 503).length,
      touches: load.touches.length,
      touchesRefused: load.touches.filter((t) => t.error !== undefined).length,
      slowest503Ms: Math.max(0, ...load.samples.filter((s) => s.status === 503).map((s) => s.receivedAt - s.sentAt)),
    };
    console.log(`failover timeline (kill -> promotion -> first right 200): ${JSON.stringify(timeline, null, 2)}`);

    expect(problems).toEqual([]);
    // The kill was felt: each instance answered 503 between the kill and the promotion.
    for (const { name } of instances) expect(unavailableBetween(load, name, killedAt, promotion.at)).toBeGreaterThan(0);
    expectRecovered(load, promotion.at, 1000);

    await load.settle();
    const expected = await reference.dashboardOf(load.sessions.values());
    expect(normalised((await a.get().expect(200)).body)).toEqual(expected);
    expect(normalised((await b.get().expect(200)).body)).toEqual(expected);
  }, 60_000);

  it('answers 503 within the bound while a master hangs (SIGSTOP) short of a failover, then right figures after SIGCONT', async () => {
    const keyPrefix = `${runPrefix}${++prefixCount}:`;
    const a = await open('A', keyPrefix);
    const b = await open('B', keyPrefix);
    const load = new SteadyLoad([a, b]);
    await load.warmUp(30);
    const { master, slot } = await masterOfStore(keyPrefix);

    const t0 = Date.now();
    const traffic = load.run();
    await sleep(1000);
    const pausedAt = Date.now();
    cluster.pause(master.port);
    // As long as cluster-node-timeout: too short for a failover (which takes about 2 s here), so
    // the master comes back as the master. A master that comes back after its replica took over
    // is the case the README's "Known limits" describe; the next test covers the failover itself.
    const promotion = cluster.waitForPromotion(master, slot, 1000).catch(() => null);
    await sleep(1000);
    const resumedAt = Date.now();
    cluster.resume(master.port);
    const promoted = await promotion;
    load.stopAt = resumedAt + 3000;
    await traffic;

    const problems = await load.check(reference, t0);
    const timeline = {
      paused: `${master.address} (slot ${slot}) for ${resumedAt - pausedAt} ms`,
      promotedDuringPauseAfterMs: promoted ? promoted.at - pausedAt : null,
      first503AfterPauseMs: Object.fromEntries(
        instances.map(({ name }) => {
          const first = load.samples.find((s) => s.instance === name && s.status === 503 && s.sentAt >= pausedAt);
          return [name, first ? first.receivedAt - pausedAt : null];
        }),
      ),
      firstRight200AfterResumeMs: firstRight(load, resumedAt),
      ...(promoted ? { firstRight200AfterPromotionMs: firstRight(load, promoted.at) } : {}),
      gets: load.samples.length,
      unavailable: load.samples.filter((s) => s.status === 503).length,
      touches: load.touches.length,
      touchesRefused: load.touches.filter((t) => t.error !== undefined).length,
      slowest503Ms: Math.max(0, ...load.samples.filter((s) => s.status === 503).map((s) => s.receivedAt - s.sentAt)),
    };
    console.log(`hang timeline (SIGSTOP -> SIGCONT -> first right 200): ${JSON.stringify(timeline, null, 2)}`);

    expect(problems).toEqual([]);
    for (const { name } of instances) expect(unavailableBetween(load, name, pausedAt, resumedAt)).toBeGreaterThan(0);
    expectRecovered(load, resumedAt, 1000);

    await load.settle();
    const expected = await reference.dashboardOf(load.sessions.values());
    expect(normalised((await a.get().expect(200)).body)).toEqual(expected);
    expect(normalised((await b.get().expect(200)).body)).toEqual(expected);
  }, 60_000);

  it('serves right figures within 2 s of the promotion while the former master still hangs', async () => {
    const keyPrefix = `${runPrefix}${++prefixCount}:`;
    const a = await open('A', keyPrefix);
    const b = await open('B', keyPrefix);
    const load = new SteadyLoad([a, b]);
    await load.warmUp(30);
    const { master, slot } = await masterOfStore(keyPrefix);

    const t0 = Date.now();
    const traffic = load.run();
    await sleep(1000);
    const pausedAt = Date.now();
    cluster.pause(master.port);
    try {
      const promotion = await cluster.waitForPromotion(master, slot);
      load.stopAt = promotion.at + 2500;
      await traffic;
      const problems = await load.check(reference, t0);
      console.log(
        `hang past the promotion: promoted ${promotion.at - pausedAt} ms after SIGSTOP; first right 200 after ` +
          `the promotion (ms): ${JSON.stringify(firstRight(load, promotion.at))}`,
      );
      expect(problems).toEqual([]);
      // The store asks the host's client to refresh its slots when a node stops answering; a refresh
      // that asks the hung node first waits out ioredis's slotsRefreshTimeout (1 s by default).
      expectRecovered(load, promotion.at, 2000);
    } finally {
      cluster.resume(master.port);
      load.stopAt = 0;
      await traffic;
    }
  }, 60_000);

  it('with waitForReplicas 1, loses no acknowledged touch when a master hangs past its failover and resumes', async () => {
    const keyPrefix = `${runPrefix}${++prefixCount}:`;
    const a = await open('A', keyPrefix, 1);
    const b = await open('B', keyPrefix, 1);
    const load = new SteadyLoad([a, b]);
    await load.warmUp(30);
    const { master, slot } = await masterOfStore(keyPrefix);

    const traffic = load.run();
    await sleep(1000);
    cluster.pause(master.port);
    const promotion = await cluster.waitForPromotion(master, slot, 10_000).catch(() => null);
    await sleep(300);
    const resumedAt = Date.now();
    cluster.resume(master.port);
    load.stopAt = resumedAt + 2000;
    await traffic;
    expect(promotion).not.toBeNull();

    // Every touch acknowledged during the run is in the store once the former master has rejoined.
    const fresh = await open('fresh', keyPrefix);
    const missing = await eventually(async () => {
      const body = await nextDashboard(fresh);
      const ips = new Set((body as { geoIpData: { ips: string[] }[] }).geoIpData.flatMap((location) => location.ips));
      return [...load.acknowledged].filter((id) => !ips.has(load.sessions.get(id)!.ip));
    }, 10_000);
    console.log(
      `hang past the failover with waitForReplicas 1: ${load.acknowledged.size} touches acknowledged, ` +
        `${load.touches.filter((touch) => touch.error instanceof StoreOutcomeUnknownError).length} of unknown outcome, ` +
        `${missing.length} acknowledged and missing`,
    );
    expect(missing).toEqual([]);
  }, 60_000);

  /**
   * Sessions 0-5 touched and in a snapshot of every master, then changes the snapshot misses (a
   * new session, one moved to another IP, one ended), seen by both instances; then the whole
   * cluster restarts from the snapshots.
   */
  async function restartFromSnapshot(keyPrefix: string) {
    const a = await open('A', keyPrefix);
    const b = await open('B', keyPrefix);
    const snapshot = Array.from({ length: 6 }, (_, index) => testSession(index));
    for (const [index, session] of snapshot.entries()) await (index % 2 ? b : a).sessions.touch(session);
    const inSnapshot = await reference.dashboardOf(snapshot);
    expect(normalised((await a.get().expect(200)).body)).toEqual(inSnapshot);
    await cluster.snapshotMasters();

    const moved = { ...testSession(0), ip: testSession(7).ip };
    await a.sessions.touch(testSession(6));
    await b.sessions.touch(moved);
    await a.sessions.end(testSession(1).id);
    const beforeRestart = await reference.dashboardOf([moved, ...snapshot.slice(2), testSession(6)]);
    expect(normalised((await a.get().expect(200)).body)).toEqual(beforeRestart);
    expect(normalised((await b.get().expect(200)).body)).toEqual(beforeRestart);

    await cluster.restartAll();
    return { a, b, snapshot };
  }

  it("after a restart of the whole cluster from snapshots, every instance's next dashboard equals a fresh instance's", async () => {
    const keyPrefix = `${runPrefix}${++prefixCount}:`;
    const { a, b, snapshot } = await restartFromSnapshot(keyPrefix);

    const fresh = await open('fresh', keyPrefix);
    const onFresh = normalised(await nextDashboard(fresh));
    expect(onFresh).toEqual(await reference.dashboardOf(snapshot));
    expect(normalised(await nextDashboard(a))).toEqual(onFresh);
    expect(normalised(await nextDashboard(b))).toEqual(onFresh);
  }, 60_000);

  it("after a restart from snapshots and new touches, every instance's next dashboard equals a fresh instance's", async () => {
    const keyPrefix = `${runPrefix}${++prefixCount}:`;
    const { a, b, snapshot } = await restartFromSnapshot(keyPrefix);
    // More touches after the restart than there were changes the snapshot missed.
    const after = Array.from({ length: 5 }, (_, index) => testSession(8 + index));
    await eventually(() => a.sessions.touch(after[0]), 10_000);
    for (const session of after.slice(1)) await a.sessions.touch(session);

    const fresh = await open('fresh', keyPrefix);
    const onFresh = normalised(await nextDashboard(fresh));
    expect(onFresh).toEqual(await reference.dashboardOf([...snapshot, ...after]));
    const onA = normalised(await nextDashboard(a));
    const onB = normalised(await nextDashboard(b));
    console.log(
      `after a restart from snapshots and new touches: fresh ${summary(onFresh)}, A ${summary(onA)}, B ${summary(onB)}`,
    );
    expect(onA).toEqual(onFresh);
    expect(onB).toEqual(onFresh);
  }, 60_000);
});

describeCluster('StatsModule on a Redis Cluster when keys are lost', () => {
  const runPrefix = uniqueKeyPrefix('cluster-loss');
  const reference = new DashboardReference(TTL_SECONDS);
  let nodes: Array<{ host: string; port: number }>;
  let admin: Cluster;
  let prefixCount = 0;
  const instances: Instance[] = [];
  const open = async (name: string, keyPrefix: string) => {
    const instance = await openInstance(name, nodes, keyPrefix);
    instances.push(instance);
    return instance;
  };

  beforeAll(async () => {
    nodes = await sharedNodes();
    admin = clusterClient(nodes);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
  });

  afterAll(async () => {
    await reference.close();
    if (admin) {
      await deleteKeysOf(admin, runPrefix);
      admin.disconnect();
    }
  });

  /** Two instances that saw ten sessions come (through both), one move and one end. */
  async function populated(keyPrefix: string) {
    const a = await open('A', keyPrefix);
    const b = await open('B', keyPrefix);
    const sessions = Array.from({ length: 10 }, (_, index) => testSession(index));
    await a.sessions.touchMany(sessions.slice(0, 5));
    await b.sessions.touchMany(sessions.slice(5));
    const moved = { ...sessions[2], ip: testSession(20).ip };
    await b.sessions.touch(moved);
    await a.sessions.end(sessions[3].id);
    const expected = await reference.dashboardOf([moved, ...sessions.filter((_, index) => index !== 2 && index !== 3)]);
    expect(normalised((await a.get().expect(200)).body)).toEqual(expected);
    expect(normalised((await b.get().expect(200)).body)).toEqual(expected);
    return { a, b };
  }

  /**
   * How the next dashboards of the instances differ from a fresh instance's first one, and whether
   * that one adds up (every test IP has a location, so the locations and the versions each sum to
   * totalCount): [] when all is well.
   */
  async function disagreementsWithFresh(keyPrefix: string, ...existing: Instance[]): Promise<string[]> {
    const fresh = await open('fresh', keyPrefix);
    const onFresh = normalised(await nextDashboard(fresh));
    await fresh.close();
    const disagreements: string[] = [];
    const { totalCount, geoIpData, versions } = onFresh as {
      totalCount: number;
      geoIpData: Array<{ sessionCount: number }>;
      versions: Record<string, { sessionCount: number }>;
    };
    const located = geoIpData.reduce((sum, location) => sum + location.sessionCount, 0);
    const versioned = Object.values(versions).reduce((sum, version) => sum + version.sessionCount, 0);
    if (located !== totalCount || versioned !== totalCount) {
      disagreements.push(`a fresh instance shows ${summary(onFresh)}, which does not add up`);
    }
    for (const instance of existing) {
      const body = normalised(await nextDashboard(instance));
      if (!isDeepStrictEqual(body, onFresh)) {
        disagreements.push(`${instance.name} shows ${summary(body)}, a fresh instance ${summary(onFresh)}`);
      }
    }
    return disagreements;
  }

  it("after losing every key one master holds, every instance's next dashboard equals a fresh instance's", async () => {
    const keyPrefix = `${runPrefix}${++prefixCount}:`;
    const { a, b } = await populated(keyPrefix);
    await admin.ping();
    const held = await Promise.all(
      admin.nodes('master').map(async (node) => {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await node.scan(cursor, 'MATCH', `${escapeGlob(keyPrefix)}*`, 'COUNT', 1000);
          keys.push(...batch);
          cursor = next;
        } while (cursor !== '0');
        return keys;
      }),
    );
    const [lost] = held.sort((x, y) => y.length - x.length);
    expect(lost.length).toBeGreaterThan(0);
    for (const key of lost) await admin.del(key);

    expect(await disagreementsWithFresh(keyPrefix, a, b)).toEqual([]);
    await b.sessions.touch(testSession(30));
    expect(await disagreementsWithFresh(keyPrefix, a, b)).toEqual([]);
  });

  it("after losing any one of the store's keys, every instance's next dashboard equals a fresh instance's", async () => {
    const probe = `${runPrefix}${++prefixCount}:`;
    await populated(probe);
    const names = (await keysOf(admin, probe)).map((key) => key.slice(probe.length));
    expect(names.length).toBeGreaterThan(0);
    await Promise.all(instances.splice(0).map((instance) => instance.close()));

    const disagreements: string[] = [];
    for (const name of names) {
      const keyPrefix = `${runPrefix}${++prefixCount}:`;
      const { a, b } = await populated(keyPrefix);
      expect(await admin.del(`${keyPrefix}${name}`)).toBe(1);
      for (const line of await disagreementsWithFresh(keyPrefix, a, b)) disagreements.push(`without ${name}: ${line}`);
      await b.sessions.touch(testSession(30));
      for (const line of await disagreementsWithFresh(keyPrefix, a, b)) {
        disagreements.push(`without ${name}, after a new touch: ${line}`);
      }
      await Promise.all(instances.splice(0).map((instance) => instance.close()));
    }
    console.log(`keys lost one at a time (${names.join(', ')}):\n${disagreements.join('\n') || 'no disagreement'}`);
    expect(disagreements).toEqual([]);
  }, 30_000);
});
