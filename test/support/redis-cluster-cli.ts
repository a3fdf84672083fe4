/**
 * The Redis Cluster a CI run shares between its specs (`.ci/run` calls this):
 *
 *   node -r ts-node/register/transpile-only test/support/redis-cluster-cli.ts start <dir> [first-port]
 *     starts three masters with a replica each on 127.0.0.1, ports first-port to first-port + 5
 *     (bus ports 10000 higher; other free ports when any of these is taken), keeps their files and
 *     PIDs in <dir>, waits until the cluster is healthy and prints its nodes, `127.0.0.1:7000,...`,
 *     the value of REDIS_CLUSTER_NODES. The servers outlive this command.
 *
 *   node -r ts-node/register/transpile-only test/support/redis-cluster-cli.ts stop <dir>
 *     stops the servers recorded in <dir> (each PID only if it is still that redis-server) and
 *     removes <dir>.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_SIZE, LocalRedisCluster, PortsTakenError, sleep } from './redis-cluster';

interface State {
  nodes: Array<{ port: number; pid: number }>;
}

const STATE_FILE = 'cluster.json';

async function start(dir: string, firstPort: number): Promise<void> {
  const ports = Array.from({ length: CLUSTER_SIZE }, (_, index) => firstPort + index);
  let cluster = new LocalRedisCluster({ ports, nodeTimeoutMs: 2000, dir, detached: true });
  try {
    await cluster.start();
  } catch (error) {
    if (!(error instanceof PortsTakenError)) throw error;
    console.error(`redis-cluster: ${error.message}; the cluster takes other free ports`);
    cluster = new LocalRedisCluster({ nodeTimeoutMs: 2000, dir, detached: true });
    await cluster.start();
  }
  const state: State = { nodes: [...cluster.pids].map(([port, pid]) => ({ port, pid })) };
  writeFileSync(join(dir, STATE_FILE), JSON.stringify(state, null, 2));
  console.log(cluster.addresses.join(','));
}

async function stop(dir: string): Promise<void> {
  const file = join(dir, STATE_FILE);
  if (existsSync(file)) {
    const state = JSON.parse(readFileSync(file, 'utf8')) as State;
    const ours = state.nodes.filter(({ port, pid }) => isRedisServerOn(pid, port));
    for (const { pid } of ours) process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    const running = () => ours.filter(({ pid, port }) => isRedisServerOn(pid, port));
    while (running().length > 0 && Date.now() < deadline) await sleep(50);
    for (const { pid } of running()) process.kill(pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The PID is still the redis-server of that port (not a process that reused the PID). */
function isRedisServerOn(pid: number, port: number): boolean {
  const ps = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  return ps.status === 0 && ps.stdout.includes('redis-server') && ps.stdout.includes(`:${port}`);
}

async function main(): Promise<void> {
  const [command, dir, firstPort = '7000'] = process.argv.slice(2);
  if (!dir || (command !== 'start' && command !== 'stop')) {
    throw new Error('usage: redis-cluster-cli.ts start <dir> [first-port] | stop <dir>');
  }
  if (command === 'start') await start(dir, Number(firstPort));
  else await stop(dir);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`redis-cluster: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
