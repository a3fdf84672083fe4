import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import type { Writable } from 'node:stream';
import Redis from 'ioredis';

/**
 * The real process object. Under Jest, `process` is a copy whose `exit` and signal events never
 * fire; evaluated in Node's own context, `process` is the one that emits them.
 */
const hostProcess = runInThisContext('process') as NodeJS.Process;

/** Every node binds to this address only; nothing of the cluster is reachable from elsewhere. */
export const CLUSTER_HOST = '127.0.0.1';

/** Nodes of a cluster: three masters with one replica each. */
export const CLUSTER_SIZE = 6;

/** One line of `CLUSTER NODES`, as some node of the cluster sees it. */
export interface ClusterNode {
  id: string;
  port: number;
  /** `127.0.0.1:<port>` */
  address: string;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId: string | null;
  /** Slot ranges served, both ends included (masters only). */
  slots: Array<[number, number]>;
  /** Flagged `fail` or `fail?` by the node that answered. */
  failing: boolean;
  /** The line of the node that answered (`myself`). */
  myself: boolean;
}

export interface LocalRedisClusterOptions {
  /**
   * Client ports of the six nodes; free ports when absent. Given ports are checked to be free
   * (with their bus ports) before anything starts.
   */
  ports?: number[];
  /** Cluster bus ports; `port + 10000` for given ports, other free ports otherwise. */
  busPorts?: number[];
  /** `cluster-node-timeout`: how long a master may be unreachable before its replica takes over. */
  nodeTimeoutMs?: number;
  /** Folder of the nodes' files (config, logs, snapshots); a new temporary folder when absent. */
  dir?: string;
  /**
   * The processes outlive this one (for a cluster shared by a CI run): no exit handler, and
   * {@link stopDetachedCluster} stops them later by the PIDs this process records.
   */
  detached?: boolean;
}

interface NodeProcess {
  port: number;
  busPort: number;
  dir: string;
  child: ChildProcess | null;
  pid: number | null;
  paused: boolean;
}

/**
 * A Redis Cluster of real `redis-server` processes on local ports, for tests: three masters with a
 * replica each, created by `redis-cli --cluster create`, in a folder of its own, without persistence
 * (`--save ""`, `--appendonly no`; a test that wants a snapshot asks with {@link snapshot}).
 *
 * Faults are played on the processes themselves, by PID, and only on this cluster's: {@link kill}
 * (SIGKILL or another signal), {@link pause} (SIGSTOP) and {@link resume} (SIGCONT),
 * {@link restart} (the same node, from its own `nodes.conf` and snapshot). {@link stop} kills every
 * process it started and removes the folder; so does a process `exit` handler, should a test run
 * end without calling it.
 */
export class LocalRedisCluster {
  readonly nodeTimeoutMs: number;
  private readonly options: LocalRedisClusterOptions;
  private nodesByPort = new Map<number, NodeProcess>();
  private dir = '';
  private ownsDir = false;
  /** Stdin of the guard process: it kills the nodes left running once this process is gone. */
  private guard: Writable | null = null;
  private readonly exitHandler = () => this.killAllSync();
  /** On a deadly signal: kill the nodes, then let the signal do what it would have done. */
  private readonly signalHandler = (signal: NodeJS.Signals) => {
    this.killAllSync();
    this.removeProcessHandlers();
    if (hostProcess.listenerCount(signal) === 0) hostProcess.kill(hostProcess.pid, signal);
  };

  constructor(options: LocalRedisClusterOptions = {}) {
    this.options = options;
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  }

  /** Client ports of the six nodes, in creation order. */
  get ports(): number[] {
    return [...this.nodesByPort.keys()];
  }

  /** `127.0.0.1:<port>` of every node, as `REDIS_CLUSTER_NODES` lists them. */
  get addresses(): string[] {
    return this.ports.map((port) => `${CLUSTER_HOST}:${port}`);
  }

  /** Start-up nodes for `new Cluster(...)` of ioredis. */
  get startupNodes(): Array<{ host: string; port: number }> {
    return this.ports.map((port) => ({ host: CLUSTER_HOST, port }));
  }

  /** The folder holding each node's files, one sub-folder per port. */
  get folder(): string {
    return this.dir;
  }

  /** PIDs of the running processes, by port. */
  get pids(): Map<number, number> {
    const pids = new Map<number, number>();
    for (const node of this.nodesByPort.values()) if (node.pid !== null) pids.set(node.port, node.pid);
    return pids;
  }

  /** Starts six nodes, creates the cluster and waits until every node reports it healthy. */
  async start(): Promise<this> {
    if (this.nodesByPort.size > 0) throw new Error('the cluster was started already');
    const { ports, busPorts } = await this.choosePorts();
    if (this.options.dir) {
      this.dir = this.options.dir;
      mkdirSync(this.dir, { recursive: true });
    } else {
      this.dir = mkdtempSync(join(tmpdir(), 'stats-redis-cluster-'));
      this.ownsDir = true;
    }
    ports.forEach((port, index) => {
      const dir = join(this.dir, String(port));
      mkdirSync(dir, { recursive: true });
      this.nodesByPort.set(port, { port, busPort: busPorts[index], dir, child: null, pid: null, paused: false });
    });
    if (!this.options.detached) {
      hostProcess.once('exit', this.exitHandler);
      for (const signal of DEADLY_SIGNALS) hostProcess.once(signal, this.signalHandler);
      this.guard = startGuard();
      if (this.ownsDir) tellGuard(this.guard, { dir: this.dir });
    }
    try {
      await Promise.all(this.ports.map((port) => this.spawnNode(port)));
      await runRedisCli(['--cluster', 'create', ...this.addresses, '--cluster-replicas', '1', '--cluster-yes']);
      await this.waitUntilHealthy();
    } catch (error) {
      await this.stop();
      throw error;
    }
    return this;
  }

  /** Kills every process of the cluster (only those this object started) and removes its folder. */
  async stop(): Promise<void> {
    const nodes = [...this.nodesByPort.values()];
    await Promise.all(nodes.map((node) => this.kill(node.port).catch(() => undefined)));
    if (this.ownsDir && this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.nodesByPort.clear();
    this.removeProcessHandlers();
    this.guard?.end();
    this.guard = null;
  }

  private removeProcessHandlers(): void {
    hostProcess.removeListener('exit', this.exitHandler);
    for (const signal of DEADLY_SIGNALS) hostProcess.removeListener(signal, this.signalHandler);
  }

  /** Sends `signal` to the node's process (SIGKILL: the process dies at once, saving nothing). */
  async kill(port: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.node(port);
    const { child, pid } = node;
    if (pid === null) return;
    const exited =
      child && child.exitCode === null && child.signalCode === null
        ? new Promise<void>((resolve) => child.once('exit', () => resolve()))
        : Promise.resolve();
    process.kill(pid, signal);
    // A stopped process acts on SIGTERM only once it runs again.
    if (node.paused && signal !== 'SIGKILL') process.kill(pid, 'SIGCONT');
    await withTimeout(exited, 10_000, `redis-server on port ${port} did not exit after ${signal}`);
    node.child = null;
    node.pid = null;
    node.paused = false;
  }

  /** SIGSTOP: the process hangs with its connections open, as a stalled server does. */
  pause(port: number): void {
    const node = this.node(port);
    if (node.pid === null) throw new Error(`node ${port} is not running`);
    process.kill(node.pid, 'SIGSTOP');
    node.paused = true;
  }

  /** SIGCONT after {@link pause}. */
  resume(port: number): void {
    const node = this.node(port);
    if (node.pid === null || !node.paused) return;
    process.kill(node.pid, 'SIGCONT');
    node.paused = false;
  }

  /** Starts a killed node again with its own files: it keeps its id, and loads its snapshot if it has one. */
  async restart(port: number): Promise<void> {
    if (this.node(port).pid !== null) throw new Error(`node ${port} is still running`);
    await this.spawnNode(port);
  }

  /** Resumes paused nodes, starts killed ones again, then waits until the cluster is healthy. */
  async repair(): Promise<void> {
    for (const node of this.nodesByPort.values()) {
      if (node.paused) this.resume(node.port);
    }
    await Promise.all(
      [...this.nodesByPort.values()].filter((node) => node.pid === null).map((node) => this.restart(node.port)),
    );
    await this.waitUntilHealthy();
  }

  /** Writes the node's data to its `dump.rdb` now (SAVE); a restart of the node loads it. */
  async snapshot(port: number): Promise<void> {
    await nodeCommand(port, ['SAVE'], 5000);
  }

  /** SAVE on every master: the data of the whole cluster as of now, for {@link restartAll}. */
  async snapshotMasters(): Promise<void> {
    await Promise.all((await this.masters()).map((master) => this.snapshot(master.port)));
  }

  /**
   * Kills every node at once (SIGKILL, nothing saved) and starts them all again from their files:
   * the masters come back with the data of their last snapshot (none: empty), the replicas sync
   * from them. Waits until the cluster is healthy.
   */
  async restartAll(): Promise<void> {
    await Promise.all(this.ports.map((port) => this.kill(port)));
    await Promise.all(this.ports.map((port) => this.restart(port)));
    await this.waitUntilHealthy();
  }

  /** The cluster as the first responsive node sees it. */
  async topology(): Promise<ClusterNode[]> {
    let lastError: unknown = new Error('no node is running');
    for (const node of this.nodesByPort.values()) {
      if (node.pid === null || node.paused) continue;
      try {
        return parseClusterNodes(String(await nodeCommand(node.port, ['CLUSTER', 'NODES'])));
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** The masters serving slots, as the first responsive node sees them. */
  async masters(): Promise<ClusterNode[]> {
    return (await this.topology()).filter((node) => node.role === 'master' && node.slots.length > 0);
  }

  /** The hash slot of a key (CLUSTER KEYSLOT). */
  async keySlot(key: string): Promise<number> {
    for (const node of this.nodesByPort.values()) {
      if (node.pid === null || node.paused) continue;
      return Number(await nodeCommand(node.port, ['CLUSTER', 'KEYSLOT', key]));
    }
    throw new Error('no node is running');
  }

  /** The master serving a slot now, with its replicas. */
  async masterOfSlot(slot: number): Promise<{ master: ClusterNode; replicas: ClusterNode[] }> {
    const topology = await this.topology();
    const master = topology.find((node) => node.role === 'master' && !node.failing && servesSlot(node, slot));
    if (!master) throw new Error(`no master serves slot ${slot}`);
    return { master, replicas: topology.filter((node) => node.masterId === master.id) };
  }

  /** The master holding a key's slot (CLUSTER KEYSLOT, then CLUSTER NODES). */
  async masterOfKey(key: string): Promise<{ slot: number; master: ClusterNode; replicas: ClusterNode[] }> {
    const slot = await this.keySlot(key);
    return { slot, ...(await this.masterOfSlot(slot)) };
  }

  /** Keys matching a pattern on one node (SCAN), e.g. the keys of a prefix that a master holds. */
  async keysOn(port: number, pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = (await nodeCommand(port, ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [
        string,
        string[],
      ];
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  /** Runs one command on one node (not through a cluster client: no redirection). */
  command(port: number, args: string[], timeoutMs = 2000): Promise<unknown> {
    return nodeCommand(port, args, timeoutMs);
  }

  /**
   * Waits until a node other than `former` reports itself (`myself`) master of `slot`: the moment
   * the replica won its election. Answers that node and when it was seen.
   */
  async waitForPromotion(
    former: ClusterNode,
    slot: number,
    timeoutMs = 15_000,
  ): Promise<{ node: ClusterNode; at: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const candidate of this.nodesByPort.values()) {
        if (candidate.port === former.port || candidate.pid === null || candidate.paused) continue;
        try {
          const self = parseClusterNodes(String(await nodeCommand(candidate.port, ['CLUSTER', 'NODES'], 500))).find(
            (node) => node.myself,
          );
          if (self && self.role === 'master' && servesSlot(self, slot)) return { node: self, at: Date.now() };
        } catch {
          // a node restarting or busy answers at the next round
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`no replica of ${former.address} took over slot ${slot} in ${timeoutMs} ms`);
      }
      await sleep(25);
    }
  }

  /**
   * Waits until every running node reports `cluster_state:ok`, knows all six nodes, flags none of
   * the running ones as failing, agrees with the others on which node serves which slot, and every
   * running replica's link to its master is up; and, with all six running, until each master has
   * its replica.
   */
  async waitUntilHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const problem = await this.healthProblem().catch((error: Error) => `unreachable: ${error.message}`);
      if (problem === '') return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster is not healthy after ${timeoutMs} ms: ${problem}`);
      await sleep(50);
    }
  }

  private async healthProblem(): Promise<string> {
    const running = [...this.nodesByPort.values()].filter((node) => node.pid !== null && !node.paused);
    const runningPorts = new Set(running.map((node) => node.port));
    let layout: string | null = null;
    for (const { port } of running) {
      const info = String(await nodeCommand(port, ['CLUSTER', 'INFO'], 1000));
      if (!/^cluster_state:ok\r?$/m.test(info)) return `${port} reports ${/cluster_state:\w+/.exec(info)?.[0]}`;
      const view = parseClusterNodes(String(await nodeCommand(port, ['CLUSTER', 'NODES'], 1000)));
      if (view.length !== this.nodesByPort.size) return `${port} knows ${view.length} nodes`;
      const failing = view.find((node) => node.failing && runningPorts.has(node.port));
      if (failing) return `${port} flags ${failing.address} as failing`;
      const masters = view.filter((node) => node.role === 'master' && node.slots.length > 0);
      const thisLayout = masters
        .map((node) => `${node.port}:${node.slots.map((range) => range.join('-')).join(',')}`)
        .sort()
        .join(' ');
      if (layout !== null && thisLayout !== layout) return `nodes disagree on the slots (${thisLayout} / ${layout})`;
      layout = thisLayout;
      if (running.length === this.nodesByPort.size) {
        const unpaired = masters.find((master) => !view.some((node) => node.masterId === master.id && !node.failing));
        if (unpaired) return `${unpaired.address} has no replica`;
      }
      const self = view.find((node) => node.myself);
      if (self?.role === 'replica') {
        const replication = String(await nodeCommand(port, ['INFO', 'replication'], 1000));
        if (!/^master_link_status:up\r?$/m.test(replication)) return `replica ${port} is not in sync with its master`;
      }
    }
    return '';
  }

  private node(port: number): NodeProcess {
    const node = this.nodesByPort.get(port);
    if (!node) throw new Error(`no node of this cluster listens on ${port}`);
    return node;
  }

  private async choosePorts(): Promise<{ ports: number[]; busPorts: number[] }> {
    if (this.options.ports) {
      const ports = this.options.ports;
      if (ports.length !== CLUSTER_SIZE) throw new Error(`a cluster needs ${CLUSTER_SIZE} ports`);
      const busPorts = this.options.busPorts ?? ports.map((port) => port + 10_000);
      const taken: number[] = [];
      for (const port of [...ports, ...busPorts]) if (!(await isFree(port))) taken.push(port);
      if (taken.length > 0) throw new PortsTakenError(taken);
      return { ports, busPorts };
    }
    // Held open together, so the twelve ports differ; closed just before the servers bind them.
    const probes = await Promise.all(Array.from({ length: 2 * CLUSTER_SIZE }, () => holdFreePort()));
    await Promise.all(probes.map((probe) => probe.release()));
    const all = probes.map((probe) => probe.port);
    return { ports: all.slice(0, CLUSTER_SIZE), busPorts: all.slice(CLUSTER_SIZE) };
  }

  private async spawnNode(port: number): Promise<void> {
    const node = this.node(port);
    const args = [
      '--port', String(port),
      '--cluster-port', String(node.busPort),
      '--bind', CLUSTER_HOST,
      '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(this.nodeTimeoutMs),
      '--save', '',
      '--appendonly', 'no',
      // Replicas sync at once instead of after Redis 7's default 5 s wait for more replicas.
      '--repl-diskless-sync-delay', '0',
      '--dir', node.dir,
      '--logfile', 'redis.log',
    ]; // prettier-ignore
    const child = spawn('redis-server', args, {
      cwd: node.dir,
      stdio: 'ignore',
      detached: this.options.detached === true,
    });
    // Not waited for by the event loop: if a run ends without stop(), the exit handler or the guard kills it.
    child.unref();
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    await spawned;
    node.child = child;
    node.pid = child.pid!;
    if (this.guard) tellGuard(this.guard, { add: node.pid });
    node.paused = false;
    child.once('exit', () => {
      if (this.guard) tellGuard(this.guard, { remove: child.pid! });
      if (node.child === child) {
        node.child = null;
        node.pid = null;
      }
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await nodeCommand(port, ['PING'], 500)) === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (node.child !== child) {
        throw new Error(`redis-server on port ${port} exited at start-up; see ${node.dir}/redis.log`);
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer in 10 s`);
      await sleep(20);
    }
  }

  /** The exit handler: no waiting is possible there, so SIGKILL and remove the folder. */
  private killAllSync(): void {
    for (const node of this.nodesByPort.values()) {
      if (node.pid === null) continue;
      try {
        process.kill(node.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    if (this.ownsDir && this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A small process of its own (own process group, deaf to SIGINT/SIGTERM/SIGHUP) that is told the
 * PIDs of the nodes on its stdin. When that pipe closes, because stop() ended it or because this
 * process died however it died (even by SIGKILL, where no handler runs), it SIGKILLs the PIDs still
 * listed and removes the cluster's folder.
 */
function startGuard(): Writable {
  const script = `
    const pids = new Set();
    let dir = '';
    let pending = '';
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => undefined);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      pending += chunk;
      for (let end = pending.indexOf('\\n'); end >= 0; end = pending.indexOf('\\n')) {
        const message = JSON.parse(pending.slice(0, end));
        pending = pending.slice(end + 1);
        if (message.add) pids.add(message.add);
        if (message.remove) pids.delete(message.remove);
        if (message.dir) dir = message.dir;
      }
    });
    process.stdin.on('end', () => {
      for (const pid of pids) {
        try { process.kill(pid, 'SIGKILL'); } catch {}
      }
      if (dir) require('node:fs').rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  `;
  const guard = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  guard.unref();
  (guard.stdin as unknown as { unref(): void }).unref();
  guard.stdin!.on('error', () => undefined);
  return guard.stdin!;
}

function tellGuard(guard: Writable, message: { add?: number; remove?: number; dir?: string }): void {
  guard.write(`${JSON.stringify(message)}\n`);
}

/** Signals that end a test run (Ctrl-C, a CI runner's cancel) without an `exit` event. */
const DEADLY_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Given ports of a cluster are in use. */
export class PortsTakenError extends Error {
  constructor(readonly ports: number[]) {
    super(`ports in use: ${ports.join(', ')}`);
  }
}

/** Whether `redis-cli` is on the PATH beside `redis-server` (both come in Debian's redis-server package). */
export const hasRedisCli = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;

/** `host:port` list of `REDIS_CLUSTER_NODES` as ioredis start-up nodes. */
export function parseNodeList(list: string): Array<{ host: string; port: number }> {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const colon = entry.lastIndexOf(':');
      const port = Number(entry.slice(colon + 1));
      if (colon <= 0 || !Number.isInteger(port)) throw new Error(`REDIS_CLUSTER_NODES: "${entry}" is not host:port`);
      return { host: entry.slice(0, colon), port };
    });
}

/** Parses the reply of CLUSTER NODES. */
export function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [id, endpoint, flagText, master, , , , , ...slotFields] = line.split(' ');
      const address = endpoint.split('@')[0];
      const flags = flagText.split(',');
      const slots = slotFields
        .filter((field) => !field.startsWith('['))
        .map((field): [number, number] => {
          const [from, to] = field.split('-').map(Number);
          return [from, to ?? from];
        });
      return {
        id,
        port: Number(address.slice(address.lastIndexOf(':') + 1)),
        address,
        role: flags.includes('master') ? 'master' : 'replica',
        masterId: master === '-' ? null : master,
        slots,
        failing: flags.includes('fail') || flags.includes('fail?'),
        myself: flags.includes('myself'),
      };
    });
}

function servesSlot(node: ClusterNode, slot: number): boolean {
  return node.slots.some(([from, to]) => slot >= from && slot <= to);
}

/** One command on one node over a fresh connection, bounded in time whatever state the node is in. */
async function nodeCommand(port: number, args: string[], timeoutMs = 2000): Promise<unknown> {
  const client = new Redis({
    host: CLUSTER_HOST,
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    return await withTimeout(
      client.connect().then(() => client.call(args[0], ...args.slice(1))),
      timeoutMs + 100,
      `${args.join(' ')} on ${port} did not answer in ${timeoutMs} ms`,
    );
  } finally {
    client.disconnect();
  }
}

function runRedisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`redis-cli ${args.join(' ')} exited ${code}:\n${output}`));
    });
  });
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, CLUSTER_HOST, () => probe.close(() => resolve(true)));
  });
}

function holdFreePort(): Promise<{ port: number; release: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, CLUSTER_HOST, () => {
      const { port } = probe.address() as { port: number };
      resolve({ port, release: () => new Promise<void>((done) => probe.close(() => done())) });
    });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
