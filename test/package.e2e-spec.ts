import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sign } from 'jsonwebtoken';
import {
  commonJsHost,
  esmHost,
  HOST_SECRET,
  HOST_SESSION,
  installedVersion,
  installHost,
  packLibrary,
  removeFolder,
  startHost,
  temporaryFolder,
  typeCheck,
  typedHost,
  type HostPlatform,
  type HostSpec,
  type PackResult,
  type RunningHost,
} from './support/package-host';
import { tokenFor } from './support/tokens';

/**
 * The packed library in fresh Nest applications outside the repository, one per Nest major the
 * peer ranges claim: Nest 11 (CommonJS host on Express, no @nestjs/swagger) and Nest 12 (ES module
 * hosts on Express and on Fastify, with @nestjs/swagger). Each installs the tarball from npm pack
 * and is called over HTTP.
 */
jest.setTimeout(240_000);

const DASHBOARD = '/stats/active-sessions/dashboard';

/** One application folder per Nest major; the Nest 12 one has both HTTP platforms. */
const INSTALLS: Array<Omit<HostSpec, 'packageName' | 'tarball'>> = [
  { nestMajor: 11, swagger: false, platforms: ['express'] },
  { nestMajor: 12, swagger: true, platforms: ['express', 'fastify'] },
];

/** The hosts, started one after the other; `typed` type-checks a TypeScript host once per folder. */
const HOSTS: Array<{
  nestMajor: 11 | 12;
  swagger: boolean;
  platform: HostPlatform;
  file: string;
  source: (packageName: string) => string;
  typed?: string;
}> = [
  {
    nestMajor: 11,
    swagger: false,
    platform: 'express',
    file: 'host.cjs',
    source: commonJsHost,
    typed: 'typed-host.ts',
  },
  {
    nestMajor: 12,
    swagger: true,
    platform: 'express',
    file: 'host.mjs',
    source: (name) => esmHost(name),
    typed: 'typed-host.mts',
  },
  {
    nestMajor: 12,
    swagger: true,
    platform: 'fastify',
    file: 'fastify-host.mjs',
    source: (name) => esmHost(name, 'fastify'),
  },
];

const token = (roles: string[] = ['stats:read']) =>
  sign({ sub: 'package-test', roles }, HOST_SECRET, { algorithm: 'HS256', expiresIn: '5m' });

describe('the npm package', () => {
  let workDir: string;
  let pack: PackResult;
  const hostDir = (nestMajor: number) => join(workDir, `nest${nestMajor}`);

  beforeAll(async () => {
    workDir = await temporaryFolder();
    pack = await packLibrary(join(workDir, 'pack'));
    // Both folders install at once: most of the time goes to unpacking (geoip-lite's data above all).
    await Promise.all(
      INSTALLS.map((spec) =>
        installHost(hostDir(spec.nestMajor), { ...spec, packageName: pack.name, tarball: pack.tarball }),
      ),
    );
  });

  afterAll(async () => {
    await removeFolder(workDir);
  });

  describe('tarball', () => {
    const paths = () => pack.files.map((file) => file.path);

    it('holds the compiled library with type declarations, and package.json', () => {
      expect(paths()).toEqual(expect.arrayContaining(['package.json', 'dist/stats/index.js', 'dist/stats/index.d.ts']));
      expect(paths().filter((path) => path.endsWith('.d.ts')).length).toBeGreaterThan(10);
      for (const path of paths()) {
        expect(path).toMatch(/^(package\.json|README\.md|LICENSE|dist\/stats\/.+\.(js|d\.ts))$/);
      }
    });

    it('leaves out tests, specs, the example host, sources, source maps and dependencies', () => {
      for (const path of paths()) {
        expect(path).not.toMatch(/(^|\/)(test|example|node_modules|src|bench)\//);
        expect(path).not.toMatch(/\.spec\.|\.contract\.|\.map$|main\.|app\.module|tsbuildinfo|\.dat$/);
        expect(path.endsWith('.ts') && !path.endsWith('.d.ts')).toBe(false);
      }
      expect(pack.size).toBeLessThan(200_000); // geoip-lite's data would be tens of MB
    });
  });

  describe.each(HOSTS)(
    'in a fresh Nest $nestMajor application on $platform (@nestjs/swagger installed: $swagger)',
    (spec) => {
      let dir: string;
      let host: RunningHost;

      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${host.baseUrl}${path}`, { headers: { Accept: 'application/json', ...headers } });

      beforeAll(async () => {
        dir = hostDir(spec.nestMajor);
        host = await startHost(dir, spec.file, spec.source(pack.name));
      });

      afterAll(async () => {
        await host?.stop();
      });

      it(`installs Nest ${spec.nestMajor} once, the library's runtime dependencies beside it`, async () => {
        expect((await installedVersion(dir, '@nestjs/core')).split('.')[0]).toBe(String(spec.nestMajor));
        expect((await installedVersion(dir, '@nestjs/common')).split('.')[0]).toBe(String(spec.nestMajor));
        expect((await installedVersion(dir, `@nestjs/platform-${spec.platform}`)).split('.')[0]).toBe(
          String(spec.nestMajor),
        );
        const installed = join(dir, 'node_modules', pack.name);
        // Peer dependencies: the host's copy of Nest, never a second one inside the package.
        expect(existsSync(join(installed, 'node_modules', '@nestjs'))).toBe(false);
        expect(existsSync(join(dir, 'node_modules', '@nestjs', 'swagger'))).toBe(spec.swagger);
        // geoip-lite is a dependency, installed with its data, not bundled.
        expect(existsSync(join(dir, 'node_modules', 'geoip-lite', 'data'))).toBe(true);
        const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
        expect(Object.keys(manifest.dependencies)).toContain('geoip-lite');
        expect(manifest.bundleDependencies ?? manifest.bundledDependencies).toBeUndefined();
        expect(manifest.peerDependencies['@nestjs/core']).toBe('^11.0.0 || ^12.0.0');
        expect(manifest.peerDependenciesMeta['@nestjs/swagger']).toEqual({ optional: true });
      });

      if (spec.typed) {
        const typed = spec.typed;
        it('type-checks a TypeScript host against its declarations (forRoot, forRootAsync, DTO types)', async () => {
          await expect(typeCheck(dir, typed, typedHost(pack.name))).resolves.toBeUndefined();
        });
      }

      it('answers 401 without a token and 403 without the role, with the documented body', async () => {
        const anonymous = await get(DASHBOARD);
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
        expect(await anonymous.json()).toEqual({ id: 'unauthorized', message: 'Token error. Login again.' });

        const wrongKey = await get(DASHBOARD, { Authorization: `Bearer ${tokenFor()}` });
        expect(wrongKey.status).toBe(401);

        const withoutRole = await get(DASHBOARD, { Authorization: `Bearer ${token([])}` });
        expect(withoutRole.status).toBe(403);
        expect(await withoutRole.json()).toEqual({
          id: 'forbidden',
          message: 'Insufficient permissions to access this resource.',
        });
      });

      it('answers 200 with the session the host touched', async () => {
        const response = await get(DASHBOARD, { Authorization: `Bearer ${token()}` });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
        const body = await response.json();
        expect(body).toEqual({
          totalCount: 1,
          geoIpData: [
            {
              sessionCount: 1,
              latitude: expect.any(Number),
              longitude: expect.any(Number),
              countryCode: 'US',
              continentCode: 'NA',
              ips: [HOST_SESSION.ip],
            },
          ],
          versions: { [HOST_SESSION.clientVersion]: { supportStatus: 'full', sessionCount: 1 } },
        });
        expect(host.stderr()).toBe('');
      });

      it('answers HEAD with the headers of GET and no body', async () => {
        const headers = { Accept: 'application/json', Authorization: `Bearer ${token()}` };
        const get = await fetch(`${host.baseUrl}${DASHBOARD}`, { headers });
        const getBody = await get.arrayBuffer();
        const head = await fetch(`${host.baseUrl}${DASHBOARD}`, { method: 'HEAD', headers });
        expect(head.status).toBe(200);
        expect((await head.arrayBuffer()).byteLength).toBe(0);
        expect(head.headers.get('content-length')).toBe(String(getBody.byteLength));
        for (const name of ['content-type', 'cache-control', 'vary'])
          expect(head.headers.get(name)).toBe(get.headers.get(name));
        expect(head.headers.get('vary')).toBe('Accept, Authorization');
      });

      if (spec.swagger) {
        it("puts the route into the host's OpenAPI document", async () => {
          const response = await get('/docs-json');
          expect(response.status).toBe(200);
          const document = (await response.json()) as { paths: Record<string, any>; components: Record<string, any> };
          const operation = document.paths[DASHBOARD].get;
          expect(operation.security).toEqual([{ bearer: [] }]);
          expect(Object.keys(operation.responses).sort()).toEqual(['200', '401', '403', '406', '500', '503', '504']);
          expect(Object.keys(document.components.schemas)).toEqual(
            expect.arrayContaining(['DashboardSessionsDto', 'SessionGeoData', 'ClientVersionSupport', 'StatsErrorDto']),
          );
          expect(document.components.schemas.DashboardSessionsDto.properties.versions.additionalProperties).toEqual({
            $ref: '#/components/schemas/ClientVersionSupport',
          });
        });
      }
    },
  );
});
