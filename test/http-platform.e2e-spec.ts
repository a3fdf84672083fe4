import { ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DashboardService, SessionsService, StatsModule, StoreUnavailableError, type SessionStore } from '../src/stats';
import { BYTES_PER_TURN } from '../src/stats/dashboard/paced-body.writer';
import { addHostHooks, HTTP_PLATFORM, startHttpApp } from './support/http-platform';
import { expect401, expectRefusal, FORBIDDEN, NOT_ACCEPTABLE } from './support/refusals';
import { createStatsApp, DASHBOARD, DEFAULT_OPTIONS } from './support/stats-app';
import { bearer } from './support/tokens';

/**
 * The route on the HTTP platform of this run (Express or Fastify, see jest.config.js): the same
 * statuses, headers and bytes on both, HEAD, large bodies, and the host's own hooks around them.
 */
describe(`The route on ${HTTP_PLATFORM}`, () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    jest.restoreAllMocks();
    await app?.close();
    app = undefined;
  });

  describe('headers and bytes', () => {
    beforeEach(async () => {
      app = await createStatsApp();
      await app.get(SessionsService).touchMany([
        { id: 'a', ip: '85.228.0.1', clientVersion: '6.0.0' },
        { id: 'b', ip: '8.8.8.8', clientVersion: '5.5.0' },
      ]);
    });

    it('answers 200 with the cached bytes and exactly the documented headers', async () => {
      const response = await request(app!.getHttpServer()).get(DASHBOARD).set('Authorization', bearer()).expect(200);
      const expected = await app!.get(DashboardService).getDashboardJson();
      expect(Buffer.from(response.text, 'utf8').equals(expected)).toBe(true);
      expect(response.headers).toMatchObject({
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(expected.length),
        'cache-control': 'no-store',
        vary: 'Accept, Authorization',
      });
      expect(response.headers.etag).toBeUndefined(); // the body changes with every session
    });

    it('answers HEAD with the headers of GET and no body', async () => {
      const server = app!.getHttpServer();
      const get = await request(server).get(DASHBOARD).set('Authorization', bearer()).expect(200);
      const head = await request(server).head(DASHBOARD).set('Authorization', bearer()).expect(200);
      expect(head.text ?? '').toBe('');
      for (const name of ['content-type', 'content-length', 'cache-control', 'vary']) {
        expect([name, head.headers[name]]).toEqual([name, get.headers[name]]);
      }
    });

    it.each([
      ['401 without a token', {}, 401],
      ['403 without the role', { Authorization: bearer({ roles: [] }) }, 403],
      ['406 to an Accept it cannot meet', { Authorization: bearer(), Accept: 'text/html' }, 406],
    ])('answers HEAD with the status and headers of GET: %s', async (_name, headers, status) => {
      const server = app!.getHttpServer();
      const get = await request(server).get(DASHBOARD).set(headers).expect(status);
      const head = await request(server).head(DASHBOARD).set(headers).expect(status);
      expect(head.text ?? '').toBe('');
      expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));
      for (const name of ['content-type', 'cache-control', 'www-authenticate']) {
        expect([name, head.headers[name]]).toEqual([name, get.headers[name]]);
      }
    });

    it('answers every refusal with its status, body and headers', async () => {
      const server = app!.getHttpServer();
      expect401(await request(server).get(DASHBOARD), false);
      expect401(await request(server).get(DASHBOARD).set('Authorization', 'Bearer not-a-token'), true);
      expectRefusal(
        await request(server)
          .get(DASHBOARD)
          .set('Authorization', bearer({ roles: [] })),
        403,
        FORBIDDEN,
      );
      const notAcceptable = await request(server)
        .get(DASHBOARD)
        .set('Authorization', bearer())
        .set('Accept', 'text/html');
      expectRefusal(notAcceptable, 406, NOT_ACCEPTABLE);
      expect(notAcceptable.headers['content-length']).toBe(String(Buffer.byteLength(notAcceptable.text)));
    });
  });

  it('answers 503 with Retry-After when the store is unavailable', async () => {
    const fail = () => Promise.reject(new StoreUnavailableError(new Error('connection refused')));
    const store: SessionStore = {
      upsert: fail,
      remove: fail,
      revision: fail,
      aggregates: fail,
      find: fail,
      ping: fail,
    };
    app = await createStatsApp({ sessions: { store } });
    const response = await request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer());
    expectRefusal(response, 503, { id: 'service_unavailable', message: 'Session store unavailable. Try again later.' });
    expect(response.headers['retry-after']).toBe('5');
  });

  it("leaves paths it does not serve to the host's 404, as on the other platform", async () => {
    app = await createStatsApp();
    const server = app.getHttpServer();
    for (const [method, path] of [
      ['get', '/stats/active-sessions'],
      ['get', '/stats/active-sessions/other'],
      ['post', DASHBOARD],
    ] as const) {
      const response = await request(server)[method](path).set('Authorization', bearer()).expect(404);
      expect(response.body).toEqual({
        message: `Cannot ${method.toUpperCase()} ${path}`,
        error: 'Not Found',
        statusCode: 404,
      });
    }
    // The query string is no part of the path.
    await request(server).get(`${DASHBOARD}?from=admin-ui`).set('Authorization', bearer()).expect(200);
  });

  describe("the host's own hooks", () => {
    const seen: Array<[number, string]> = [];

    beforeEach(async () => {
      seen.length = 0;
      const moduleRef = await Test.createTestingModule({ imports: [StatsModule.forRoot(DEFAULT_OPTIONS)] }).compile();
      app = await startHttpApp(moduleRef, { logger: false }, (host) =>
        addHostHooks(host, { name: 'X-Request-Id', value: 'req-1' }, (status, path) => seen.push([status, path])),
      );
    });

    it("keeps the host's headers and runs its response hooks, on answers and refusals alike", async () => {
      const server = app!.getHttpServer();
      const ok = await request(server).get(DASHBOARD).set('Authorization', bearer()).expect(200);
      const refused = await request(server).get(`${DASHBOARD}?q=1`).expect(401);
      expect(ok.headers['x-request-id']).toBe('req-1');
      expect(refused.headers['x-request-id']).toBe('req-1');
      expect(seen).toEqual([
        [200, DASHBOARD],
        [401, `${DASHBOARD}?q=1`],
      ]);
    });
  });

  it("adds Accept and Authorization to the Vary of the host's CORS layer instead of replacing it", async () => {
    const moduleRef = await Test.createTestingModule({ imports: [StatsModule.forRoot(DEFAULT_OPTIONS)] }).compile();
    // A list of origins: the answer depends on Origin (for one fixed origin Fastify's CORS adds no Vary).
    app = await startHttpApp(moduleRef, { logger: false }, (host) =>
      host.enableCors({ origin: ['https://admin.example.com'] }),
    );
    const response = await request(app.getHttpServer())
      .get(DASHBOARD)
      .set('Origin', 'https://admin.example.com')
      .set('Authorization', bearer())
      .expect(200);
    expect(response.headers['access-control-allow-origin']).toBe('https://admin.example.com');
    expect(
      response.headers.vary
        .split(/\s*,\s*/)
        .map((name: string) => name.toLowerCase())
        .sort(),
    ).toEqual(['accept', 'authorization', 'origin']);
  });

  describe('a body larger than the per-turn budget', () => {
    /** Distinct public IPv4 addresses, spread over the address space (and so over countries). */
    const ipFor = (i: number) => {
      const n = 0x01000000 + i * 97;
      return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    };

    // One app for both cases, as populating it takes most of their time.
    let big: INestApplication;

    beforeAll(async () => {
      big = await createStatsApp();
      const sessions = big.get(SessionsService);
      const count = 150_000; // about 2.3 MB of JSON, more than one turn may send
      for (let start = 0; start < count; start += 10_000) {
        await sessions.touchMany(
          Array.from({ length: 10_000 }, (_, i) => ({
            id: `s${start + i}`,
            ip: ipFor(start + i),
            clientVersion: '6.0.0',
          })),
        );
      }
    }, 30_000);

    afterAll(() => big?.close());

    it('sends it intact from the cached parts, uncopied, paced over turns of the event loop', async () => {
      const { parts, length } = await big.get(DashboardService).getDashboardBody();
      expect(length).toBeGreaterThan(BYTES_PER_TURN);
      const expected = Buffer.concat(parts, length);

      // Every chunk the Node response is given, with the turn of the event loop it was given in.
      let turn = 0;
      let ticking = true;
      const tick = () => {
        turn++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const chunks: Array<{ turn: number; chunk: Buffer }> = [];
      const record = (chunk: unknown) => {
        if (Buffer.isBuffer(chunk) && chunk.length > 0) chunks.push({ turn, chunk });
      };
      const write = ServerResponse.prototype.write;
      const end = ServerResponse.prototype.end;
      jest.spyOn(ServerResponse.prototype, 'write').mockImplementation(function (this: ServerResponse, ...args: any[]) {
        record(args[0]);
        return (write as any).apply(this, args);
      });
      jest.spyOn(ServerResponse.prototype, 'end').mockImplementation(function (this: ServerResponse, ...args: any[]) {
        record(args[0]);
        return (end as any).apply(this, args);
      });

      const server = big.getHttpServer();
      const get = () => request(server).get(DASHBOARD).set('Authorization', bearer()).buffer(true).parse(binary);
      const responses = await Promise.all([get(), get(), get()]);
      ticking = false;

      for (const response of responses) {
        expect(response.status).toBe(200);
        expect(response.headers['content-length']).toBe(String(length));
        expect((response.body as Buffer).equals(expected)).toBe(true);
      }
      // What went to the sockets is the cached parts themselves, or views of them: no joined copy.
      const isViewOfPart = (chunk: Buffer) =>
        parts.some(
          (part) =>
            part.buffer === chunk.buffer &&
            chunk.byteOffset >= part.byteOffset &&
            chunk.byteOffset + chunk.length <= part.byteOffset + part.length,
        );
      expect(chunks.filter(({ chunk }) => !isViewOfPart(chunk))).toEqual([]);
      expect(chunks.reduce((sum, { chunk }) => sum + chunk.length, 0)).toBe(3 * length);
      // At most the budget per turn: the three bodies take at least this many turns.
      const turns = new Set(chunks.map((entry) => entry.turn));
      expect(turns.size).toBeGreaterThanOrEqual(Math.ceil((3 * length) / BYTES_PER_TURN));
    });

    it('answers HEAD with its length and writes none of it', async () => {
      const { length } = await big.get(DashboardService).getDashboardBody();
      const written: number[] = [];
      const write = ServerResponse.prototype.write;
      jest.spyOn(ServerResponse.prototype, 'write').mockImplementation(function (this: ServerResponse, ...args: any[]) {
        if (Buffer.isBuffer(args[0])) written.push(args[0].length);
        return (write as any).apply(this, args);
      });
      const head = await request(big.getHttpServer()).head(DASHBOARD).set('Authorization', bearer()).expect(200);
      expect(head.headers['content-length']).toBe(String(length));
      expect(written).toEqual([]);
    });
  });
});

/** Collects a response body as bytes, so that it is compared byte for byte. */
function binary(response: request.Response, done: (error: Error | null, body: Buffer) => void): void {
  const stream = response as unknown as NodeJS.ReadableStream; // superagent hands the Node response to parsers
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
  stream.on('error', (error: Error) => done(error, Buffer.alloc(0)));
}
