import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { deleteKeys, TEST_REDIS_URL, uniqueKeyPrefix } from './support/redis';
import { eventually } from './support/eventually';
import { RedisProxy } from './support/redis-proxy';
import { DASHBOARD } from './support/stats-app';
import { bearer, TEST_SECRET } from './support/tokens';

/**
 * The example host (src/main.ts) as `npm start` runs it, in a process of its own, with its
 * configuration from the environment.
 */
jest.setTimeout(60_000);

const ROOT = join(__dirname, '..');
// eslint-disable-next-line no-control-regex -- the escape sequences of Nest's coloured log lines
const ANSI = /\x1b\[[0-9;]*m/g;

interface ExampleHost {
  process: ChildProcess;
  /** Everything it wrote so far, stdout and stderr, without colours. */
  output(): string;
  exited: Promise<number | null>;
}

function startExampleHost(env: Record<string, string>): ExampleHost {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', NODE_ENV: 'production', STATS_JWT_SECRET: TEST_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output: () => output.replace(ANSI, ''), exited };
}

/** The port the host listens on, from its log; rejects if it exits first. */
async function listeningPort(host: ExampleHost): Promise<number> {
  let exited = false;
  void host.exited.then(() => (exited = true));
  const started = Date.now();
  for (;;) {
    const listening = /Listening on http:\/\/localhost:(\d+)/.exec(host.output());
    if (listening) return Number(listening[1]);
    if (exited) throw new Error(`the example host exited before listening:\n${host.output()}`);
    if (Date.now() - started > 30_000)
      throw new Error(`the example host did not listen within 30 s:\n${host.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(host: ExampleHost | undefined): Promise<void> {
  if (!host || host.process.exitCode !== null || host.process.signalCode !== null) return;
  host.process.kill('SIGTERM');
  const timer = setTimeout(() => host.process.kill('SIGKILL'), 5000);
  await host.exited;
  clearTimeout(timer);
}

describe('the example host', () => {
  let host: ExampleHost | undefined;

  afterEach(async () => {
    await stop(host);
    host = undefined;
  });

  describe('with REDIS_URL on a closed port and STATS_DEMO_SESSIONS=100', () => {
    const keyPrefix = uniqueKeyPrefix('example-host');
    let proxy: RedisProxy;

    beforeEach(async () => {
      proxy = new RedisProxy(new URL(TEST_REDIS_URL));
      await proxy.start();
      await proxy.stop();
    });

    afterEach(async () => {
      await proxy.stop();
      const admin = new Redis(TEST_REDIS_URL);
      await deleteKeys(admin, keyPrefix);
      await admin.quit();
    });

    it('listens, answers 503 with the cause in /health and the log, and serves the demo sessions once Redis is there', async () => {
      const refused = `connect ECONNREFUSED 127.0.0.1:${new URL(proxy.url).port}`;
      host = startExampleHost({ REDIS_URL: proxy.url, STATS_REDIS_KEY_PREFIX: keyPrefix, STATS_DEMO_SESSIONS: '100' });
      const base = `http://127.0.0.1:${await listeningPort(host)}`;
      const dashboard = () => fetch(`${base}${DASHBOARD}`, { headers: { Authorization: bearer() } });

      const unavailable = await dashboard();
      expect(unavailable.status).toBe(503);
      expect(await unavailable.json()).toEqual({
        id: 'service_unavailable',
        message: 'Session store unavailable. Try again later.',
      });
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { error: Record<string, unknown> }).error.stats).toEqual({
        status: 'down',
        geo: 'up',
        store: 'down',
        storeError: refused,
      });

      const log = host.output();
      expect(log).toContain(
        `WARN [Example] Demo sessions not added yet, the session store is unavailable (${refused})`,
      );
      expect(log).toContain(`WARN [StatsModule] 503 service_unavailable: ${refused}`);
      expect(log).not.toMatch(/writeable|enableOfflineQueue|Unhandled|UnhandledPromiseRejection/);
      expect(host.process.exitCode).toBeNull();

      await proxy.start();
      const body = await eventually(async () => {
        const response = await dashboard();
        if (response.status !== 200) throw new Error(`still ${response.status}`);
        const figures = (await response.json()) as { totalCount: number; geoIpData: unknown[] };
        if (figures.totalCount !== 100) throw new Error(`${figures.totalCount} sessions so far`);
        return figures;
      }, 15_000);
      expect(body.geoIpData.length).toBeGreaterThan(0);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect(host.output()).toContain('Added 100 demo sessions: the session store answers again');
    });
  });

  it('refuses to start with a wrong STATS_VERSION_FULL, naming the variable as well as the option', async () => {
    host = startExampleHost({ STATS_VERSION_FULL: 'newest' });
    expect(await host.exited).not.toBe(0);
    expect(host.output()).toContain(
      'StatsModule option "versionPolicy.full" (environment variable STATS_VERSION_FULL) must be a semver range such as ">=6.0.0" (got "newest")',
    );
  });
});
