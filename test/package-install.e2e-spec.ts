import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { satisfies } from 'semver';
import { sign } from 'jsonwebtoken';
import {
  HOST_SECRET,
  HOST_SESSION,
  healthHost,
  installedVersion,
  installIntoFreshHost,
  packLibrary,
  readmeInstallArguments,
  removeFolder,
  startHost,
  temporaryFolder,
  type PackResult,
  type RunningHost,
} from './support/package-host';

/**
 * What a developer gets who installs the packed library into a fresh Nest 11 application (as
 * `nest new` makes it, without the package's other peers): with a plain `npm install <package>`,
 * npm installs the missing peers itself, at the newest versions the peer ranges allow (today
 * @nestjs/passport 12 and @nestjs/terminus 12, ES modules, beside Nest 11); with
 * `--legacy-peer-deps` it installs none, and the README's install line names them all.
 */
jest.setTimeout(300_000);

const DASHBOARD = '/stats/active-sessions/dashboard';
const token = (roles: string[] = ['stats:read']) =>
  sign({ sub: 'package-test', roles }, HOST_SECRET, { algorithm: 'HS256', expiresIn: '5m' });

interface Manifest {
  name: string;
  license: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Every .js file under `dir`. */
async function javaScriptFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The package a bare specifier names: `@nestjs/common/x` is `@nestjs/common`, `ioredis/built/x` is `ioredis`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('the npm package installed into a fresh Nest 11 application', () => {
  let workDir: string;
  let pack: PackResult;
  const plainDir = () => join(workDir, 'plain');
  const readmeDir = () => join(workDir, 'readme');

  beforeAll(async () => {
    workDir = await temporaryFolder();
    pack = await packLibrary(join(workDir, 'pack'));
    const readmeArguments = (await readmeInstallArguments()).map((argument) =>
      argument === pack.name ? pack.tarball : argument,
    );
    await Promise.all([
      installIntoFreshHost(plainDir(), 11, [pack.tarball]),
      installIntoFreshHost(readmeDir(), 11, [...readmeArguments, '--legacy-peer-deps']),
    ]);
  });

  afterAll(async () => {
    await removeFolder(workDir);
  });

  const manifestIn = async (dir: string): Promise<Manifest> =>
    JSON.parse(await readFile(join(dir, 'node_modules', pack.name, 'package.json'), 'utf8'));

  describe('what ships', () => {
    it('ships the MIT licence that package.json declares', async () => {
      expect(pack.files.map((file) => file.path)).toContain('LICENSE');
      const installed = join(plainDir(), 'node_modules', pack.name);
      const licence = await readFile(join(installed, 'LICENSE'), 'utf8');
      expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
      expect(licence).toContain('Permission is hereby granted, free of charge');
      expect((await manifestIn(plainDir())).license).toBe('MIT');
    });

    it('declares every module its code requires as a dependency or a peer', async () => {
      const manifest = await manifestIn(plainDir());
      const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
      const builtins = new Set(builtinModules);
      const required = new Set<string>();
      for (const file of await javaScriptFiles(join(plainDir(), 'node_modules', pack.name, 'dist'))) {
        const source = await readFile(file, 'utf8');
        for (const [, specifier] of source.matchAll(/\brequire(?:\.resolve)?\(\s*["']([^"']+)["']\s*\)/g)) {
          if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
          required.add(packageOf(specifier));
        }
      }
      expect(required).toContain('ioredis'); // the scan finds what the code requires
      const undeclared = [...required].filter((name) => !declared.has(name)).sort();
      expect(undeclared).toEqual([]);
    });
  });

  describe.each([
    { install: `npm install <package>`, dir: plainDir, config: false },
    { install: "the README's install line with --legacy-peer-deps", dir: readmeDir, config: true },
  ])('after $install', ({ dir, config }) => {
    let host: RunningHost;

    beforeAll(async () => {
      host = await startHost(dir(), 'host.cjs', healthHost(pack.name, config));
    });

    afterAll(async () => {
      await host?.stop();
    });

    it('has Nest 11 once and every peer of the package, at versions its ranges allow', async () => {
      expect((await installedVersion(dir(), '@nestjs/core')).split('.')[0]).toBe('11');
      expect((await installedVersion(dir(), '@nestjs/common')).split('.')[0]).toBe('11');
      expect(existsSync(join(dir(), 'node_modules', pack.name, 'node_modules', '@nestjs'))).toBe(false);
      const manifest = await manifestIn(dir());
      for (const [peer, range] of Object.entries(manifest.peerDependencies)) {
        if (manifest.peerDependenciesMeta?.[peer]?.optional) continue;
        const version = await installedVersion(dir(), peer);
        expect(`${peer}@${version} ${satisfies(version, range) ? 'satisfies' : 'is outside'} ${range}`).toBe(
          `${peer}@${version} satisfies ${range}`,
        );
      }
      if (config) expect(existsSync(join(dir(), 'node_modules', '@nestjs', 'config'))).toBe(true);
    });

    it('answers the route: 401 without a token, 200 with the session the host touched', async () => {
      const anonymous = await fetch(`${host.baseUrl}${DASHBOARD}`);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toEqual({ id: 'unauthorized', message: 'Token error. Login again.' });
      const response = await fetch(`${host.baseUrl}${DASHBOARD}`, { headers: { Authorization: `Bearer ${token()}` } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { totalCount: number; versions: Record<string, unknown> };
      expect(body.totalCount).toBe(1);
      expect(body.versions).toEqual({ [HOST_SESSION.clientVersion]: { supportStatus: 'full', sessionCount: 1 } });
    });

    it("reports healthy through the host's own Terminus health check", async () => {
      const response = await fetch(`${host.baseUrl}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        status: 'ok',
        info: { stats: { status: 'up', geo: 'up', store: 'up' } },
      });
      expect(host.stderr()).toBe('');
    });
  });
});
