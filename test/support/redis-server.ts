import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether a `redis-server` binary is on the PATH (CI installs one). */
export const hasRedisServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * A Redis server of the spec's own, without persistence, that the spec may stop and start again
 * (losing its data and its script cache, as a real restart does) without touching the shared one.
 */
export class PrivateRedisServer {
  private process: ChildProcess | null = null;
  private port = 0;
  private dir: string | null = null;

  /**
   * With `snapshots`, the server loads and writes `dump.rdb` in a directory of its own (SAVE writes
   * it). With `replicaOf`, it replicates that server.
   */
  constructor(private readonly options: { snapshots?: boolean; replicaOf?: PrivateRedisServer } = {}) {}

  get portNumber(): number {
    return this.port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    if (this.options.snapshots && !this.dir) this.dir = mkdtempSync(join(tmpdir(), 'stats-redis-'));
    const storage = this.dir ? ['--dir', this.dir, '--dbfilename', 'dump.rdb'] : [];
    const replication = this.options.replicaOf
      ? ['--replicaof', '127.0.0.1', String(this.options.replicaOf.portNumber)]
      : [];
    const server = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--repl-diskless-sync-delay',
        '0',
        ...storage,
        ...replication,
      ],
      { stdio: 'ignore' },
    );
    this.process = server;
    const deadline = Date.now() + 5000;
    while (!(await accepts(this.port))) {
      if (Date.now() > deadline || server.exitCode !== null)
        throw new Error(`redis-server did not start on ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Freezes the server's process (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT): it answers what it was sent meanwhile. */
  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /** Stops the server if it runs, and removes its snapshot directory. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  /** Stops the server (its own process only) and waits until it has exited. */
  async stop(): Promise<void> {
    const server = this.process;
    this.process = null;
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGCONT'); // a paused process would not exit before it runs again
    server.kill('SIGKILL');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
