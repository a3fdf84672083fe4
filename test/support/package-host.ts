import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root, where `npm pack` runs. */
export const REPOSITORY = resolve(__dirname, '..', '..');

/** What an enclosing `npm test` says about this repository; the hosts are other projects. */
const ENCLOSING_RUN = /^(npm_package_|npm_lifecycle_|npm_command$|npm_config_local_prefix$|INIT_CWD$)/i;

/**
 * The environment of child npm and node processes: npm's own configuration (registry, cache,
 * proxy) passes through, the variables describing the enclosing run do not.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!ENCLOSING_RUN.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command; rejects with its output when it exits non-zero. */
export function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code} in ${cwd}\n${stdout}\n${stderr}`));
    });
  });
}

export interface PackedFile {
  path: string;
  size: number;
}

export interface PackResult {
  name: string;
  tarball: string;
  size: number;
  files: PackedFile[];
}

/** `npm pack` of the repository (its prepack script builds the library) into `destination`. */
export async function packLibrary(destination: string): Promise<PackResult> {
  await mkdir(destination, { recursive: true });
  const stdout = await run('npm', ['pack', '--json', '--pack-destination', destination], REPOSITORY);
  // Lifecycle scripts may print before the JSON report.
  const [report] = JSON.parse(stdout.slice(stdout.search(/^\[/m)));
  return { name: report.name, tarball: join(destination, report.filename), size: report.size, files: report.files };
}

export type HostPlatform = 'express' | 'fastify';

export interface HostSpec {
  nestMajor: 11 | 12;
  /** Install @nestjs/swagger too; without it, the host proves the module runs without it. */
  swagger: boolean;
  /** The Nest HTTP platforms to install, of the same major. */
  platforms: readonly HostPlatform[];
  packageName: string;
  tarball: string;
}

/**
 * A fresh Nest application in `dir`: a package.json with Nest of one major and the packed tarball
 * as a dependency, installed by npm (its cache keeps repeated installs fast).
 */
export async function installHost(dir: string, spec: HostSpec): Promise<void> {
  await mkdir(dir, { recursive: true });
  const nest = `^${spec.nestMajor}.0.0`;
  const dependencies: Record<string, string> = {
    '@nestjs/common': nest,
    '@nestjs/core': nest,
    ...Object.fromEntries(spec.platforms.map((platform) => [`@nestjs/platform-${platform}`, nest])),
    '@nestjs/passport': nest,
    '@nestjs/terminus': nest,
    ...(spec.swagger ? { '@nestjs/swagger': nest } : {}),
    passport: '^0.7.0',
    'reflect-metadata': '^0.2.2',
    rxjs: '^7.8.1',
    [spec.packageName]: `file:${spec.tarball}`,
  };
  const manifest = { name: `stats-host-nest${spec.nestMajor}`, version: '0.0.0', private: true, dependencies };
  await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error'],
    dir,
  );
}

export async function installedVersion(dir: string, packageName: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(dir, 'node_modules', packageName, 'package.json'), 'utf8'));
  return manifest.version;
}

export const HOST_SECRET = 'package-host-secret-of-at-least-thirty-two-characters';

/** One session the host reports at start-up: a public IP that geoip-lite places in the US. */
export const HOST_SESSION = { id: 'host-session-1', ip: '8.8.8.8', clientVersion: '6.1.2-release' };

/** Module options of the hosts, as a JavaScript literal. */
const OPTIONS = `{
  auth: { secret: process.env.STATS_JWT_SECRET },
  versionPolicy: { full: '>=6.0.0', partial: '>=5.5.0 <6.0.0' },
}`;

/**
 * Nest 11 host, CommonJS: `require` of the package, `forRoot`, no @nestjs/swagger.
 * Prints `READY <port>` once it listens.
 */
export function commonJsHost(packageName: string): string {
  return `'use strict';
require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { SessionsService, StatsModule } = require(${JSON.stringify(packageName)});

class AppModule {}
Module({ imports: [StatsModule.forRoot(${OPTIONS})] })(AppModule);

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error'] });
  app.enableShutdownHooks();
  await app.get(SessionsService).touch(${JSON.stringify(HOST_SESSION)});
  await app.listen(0, '127.0.0.1');
  console.log('READY ' + app.getHttpServer().address().port);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;
}

/**
 * Nest 12 host, an ES module: `import` of the (CommonJS) package, `forRootAsync`, with
 * @nestjs/swagger serving the document at /docs-json, on Express or on Fastify (whose swagger UI
 * would need @fastify/static: that host serves the document only). Prints `READY <port>` once it listens.
 */
export function esmHost(packageName: string, platform: HostPlatform = 'express'): string {
  const fastify = platform === 'fastify';
  return `import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
${fastify ? "import { FastifyAdapter } from '@nestjs/platform-fastify';\n" : ''}import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { SessionsService, StatsModule } from ${JSON.stringify(packageName)};

class AppModule {}
Module({ imports: [StatsModule.forRootAsync({ useFactory: async () => (${OPTIONS}) })] })(AppModule);

const app = await NestFactory.create(AppModule, ${fastify ? 'new FastifyAdapter(), ' : ''}{ logger: ['error'] });
app.enableShutdownHooks();
const config = new DocumentBuilder().setTitle('Host').setVersion('1').addBearerAuth().build();
SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config)${fastify ? ', { ui: false }' : ''});
await app.get(SessionsService).touch(${JSON.stringify(HOST_SESSION)});
await app.listen(0, '127.0.0.1');
console.log('READY ' + app.getHttpServer().address().port);
`;
}

/**
 * A host's TypeScript use of the package, type-checked against its declarations. The expected
 * error proves the declarations are read: with no types everything would be `any` and pass.
 */
export function typedHost(packageName: string): string {
  return `import { Module } from '@nestjs/common';
import { StatsModule, SessionsService, type DashboardSessionsDto, type StatsModuleOptions } from ${JSON.stringify(packageName)};

const options: StatsModuleOptions = {
  auth: { secret: 'secret-of-at-least-thirty-two-characters', requiredRoles: ['stats:read'] },
  versionPolicy: { full: '>=6.0.0', partial: '>=5.5.0 <6.0.0' },
};

@Module({
  imports: [
    StatsModule.forRootAsync({ useFactory: async (): Promise<StatsModuleOptions> => options }),
  ],
})
export class AppModule {}

export const direct = StatsModule.forRoot(options);

export async function total(sessions: SessionsService, dashboard: DashboardSessionsDto): Promise<number> {
  await sessions.touch({ id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0' });
  return dashboard.totalCount + dashboard.geoIpData.length;
}

// @ts-expect-error versionPolicy is required
StatsModule.forRoot({ auth: { secret: 'secret-of-at-least-thirty-two-characters' } });
`;
}

/** Type-checks `file` in the host folder with the repository's TypeScript, as a strict Nest project. */
export async function typeCheck(dir: string, file: string, source: string): Promise<void> {
  await writeFile(join(dir, file), source);
  const compilerOptions = {
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    target: 'ES2021',
    // Resolves the package through its exports map, as Node does.
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: [],
  };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [file] }, null, 2));
  await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], dir);
}

export interface RunningHost {
  baseUrl: string;
  /** What the host wrote to stderr so far, for failure messages. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `node <file>` in the host folder and waits for its `READY <port>` line. */
export async function startHost(dir: string, file: string, source: string): Promise<RunningHost> {
  await writeFile(join(dir, file), source);
  const child: ChildProcess = spawn(process.execPath, [file], {
    cwd: dir,
    env: childEnv({ STATS_JWT_SECRET: HOST_SECRET, NODE_ENV: 'production' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const port = await new Promise<number>((resolvePort, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start within 30 s\n${stdout}\n${stderr}`));
    }, 30_000);
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const ready = /^READY (\d+)$/m.exec(stdout);
      if (ready) {
        clearTimeout(timer);
        resolvePort(Number(ready[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited ${code} before listening\n${stdout}\n${stderr}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** A new folder under the OS temporary folder, outside the repository. */
export function temporaryFolder(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'stats-package-'));
}

/** Removes a folder from {@link temporaryFolder}; KEEP_PACKAGE_HOSTS=1 keeps it to look into. */
export async function removeFolder(dir: string | undefined): Promise<void> {
  if (dir && !process.env.KEEP_PACKAGE_HOSTS) await rm(dir, { recursive: true, force: true });
}

/**
 * The dependencies of a fresh Nest application as `nest new` makes it: Nest itself, and none of the
 * package's other peers (@nestjs/passport, @nestjs/terminus, passport).
 */
export function freshNestDependencies(nestMajor: 11 | 12): Record<string, string> {
  const nest = `^${nestMajor}.0.0`;
  return {
    '@nestjs/common': nest,
    '@nestjs/core': nest,
    '@nestjs/platform-express': nest,
    'reflect-metadata': '^0.2.2',
    rxjs: '^7.8.1',
  };
}

/**
 * A fresh Nest application in `dir` that runs `npm install <installArgs>`, e.g. the tarball alone:
 * whatever npm resolves by default, peers included, with no version chosen by the test. npm's
 * cache is used as usual, but never in place of the registry's current versions.
 */
export async function installIntoFreshHost(dir: string, nestMajor: 11 | 12, installArgs: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const manifest = {
    name: `stats-fresh-host-nest${nestMajor}`,
    version: '0.0.0',
    private: true,
    dependencies: freshNestDependencies(nestMajor),
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  await run('npm', ['install', ...installArgs, '--no-audit', '--no-fund', '--loglevel=error'], dir);
}

/**
 * The arguments of the README's install command: the first `npm install` line of the first code
 * block of its section "Adding it to your Nest application".
 */
export async function readmeInstallArguments(): Promise<string[]> {
  const readme = await readFile(join(REPOSITORY, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Adding it to your Nest application'));
  const block = section && /```[a-z]*\n([\s\S]*?)```/.exec(section)?.[1];
  const line = block
    ?.split('\n')
    .map((text) => text.replace(/\s#.*$/, '').trim())
    .find((text) => text.startsWith('npm install '));
  if (!line)
    throw new Error('README.md: no npm install line in the first code block of "Adding it to your Nest application"');
  return line.split(/\s+/).slice(2);
}

/**
 * Nest host, CommonJS, with a health route of its own through @nestjs/terminus and the module's
 * indicator; with `config`, its options come from @nestjs/config through forRootAsync, as in the
 * README's example. Touches one session; prints `READY <port>` once it listens.
 */
export function healthHost(packageName: string, config: boolean): string {
  const statsImport = config
    ? `StatsModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (settings) => ({
        auth: { secret: settings.getOrThrow('STATS_JWT_SECRET') },
        versionPolicy: { full: '>=6.0.0', partial: '>=5.5.0 <6.0.0' },
      }),
    })`
    : `StatsModule.forRoot(${OPTIONS})`;
  return `'use strict';
require('reflect-metadata');
const { Controller, Get, Inject, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { HealthCheckService, TerminusModule } = require('@nestjs/terminus');
${config ? "const { ConfigModule, ConfigService } = require('@nestjs/config');\n" : ''}const { SessionsService, StatsHealthIndicator, StatsModule } = require(${JSON.stringify(packageName)});

class HealthController {
  constructor(health, stats) {
    this.health = health;
    this.stats = stats;
  }
  check() {
    return this.health.check([() => this.stats.isHealthy('stats')]);
  }
}
Inject(HealthCheckService)(HealthController, undefined, 0);
Inject(StatsHealthIndicator)(HealthController, undefined, 1);
Get()(HealthController.prototype, 'check', Object.getOwnPropertyDescriptor(HealthController.prototype, 'check'));
Controller('health')(HealthController);

class AppModule {}
Module({
  imports: [
    ${config ? 'ConfigModule.forRoot({ isGlobal: true }),\n    ' : ''}${statsImport},
    TerminusModule,
  ],
  controllers: [HealthController],
})(AppModule);

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error'] });
  app.enableShutdownHooks();
  await app.get(SessionsService).touch(${JSON.stringify(HOST_SESSION)});
  await app.listen(0, '127.0.0.1');
  console.log('READY ' + app.getHttpServer().address().port);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;
}
