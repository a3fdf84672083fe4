import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import Ajv, { type ValidateFunction } from 'ajv';
import request from 'supertest';
import { SessionsService, StoreUnavailableError, type SessionStore } from '../src/stats';
import { createStatsApp, DASHBOARD } from './support/stats-app';
import { bearer } from './support/tokens';

/** `example1` of the documented API, copied verbatim. */
const DOCUMENTED_EXAMPLE = {
  totalCount: 6,
  geoIpData: [
    {
      sessionCount: 3,
      latitude: 55.8667,
      longitude: 12.8333,
      countryCode: 'SE',
      continentCode: 'EU',
      ips: ['192.0.2.1', '192.0.2.2'],
    },
    {
      sessionCount: 1,
      latitude: 37.751,
      longitude: -97.822,
      countryCode: 'US',
      continentCode: 'NA',
      ips: ['198.51.100.1'],
    },
    { sessionCount: 1, latitude: 20, longitude: 77, countryCode: 'IN', continentCode: 'AS', ips: ['203.0.113.1'] },
  ],
  versions: {
    '6.0.0-release-1234': { supportStatus: 'full', sessionCount: 3 },
    '5.5.0-release-1234': { supportStatus: 'partial', sessionCount: 2 },
    '5.4.1-release-1234': { supportStatus: 'none', sessionCount: 1 },
  },
};

const ERROR_STATUSES = ['401', '403', '406', '500', '503', '504'];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function buildDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder().setTitle('Host').setVersion('1').addBearerAuth().build();
  return SwaggerModule.createDocument(app, config);
}

/**
 * Compiles validators from the document's own schemas. Objects are closed (no property the
 * document does not name) unless the schema says otherwise, so an undocumented field fails too.
 */
function validatorFor(document: OpenAPIObject): (schema: object) => ValidateFunction {
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addKeyword('example'); // an OpenAPI annotation, not JSON Schema
  ajv.addFormat('double', { type: 'number', validate: (value: number) => Number.isFinite(value) });
  const close = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(close);
    if (node === null || typeof node !== 'object') return node;
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      copy[key] = key === 'example' ? value : close(value);
    }
    if (copy.type === 'object' && copy.properties && copy.additionalProperties === undefined) {
      copy.additionalProperties = false;
    }
    if (typeof copy.$ref === 'string') copy.$ref = copy.$ref.replace('#/components/schemas/', 'openapi#/$defs/');
    return copy;
  };
  ajv.addSchema({ $id: 'openapi', $defs: close(document.components?.schemas ?? {}) as object });
  return (schema) => ajv.compile(close(schema) as object);
}

describe('OpenAPI document of the dashboard route (@nestjs/swagger installed)', () => {
  let app: INestApplication;
  let document: OpenAPIObject;
  let compile: (schema: object) => ValidateFunction;

  const operation = () => document.paths[DASHBOARD]?.get as Record<string, any>;
  const schemas = () => document.components?.schemas as Record<string, any>;
  /** The schema the document gives for a status of the route. */
  const responseSchema = (status: number | string) =>
    operation().responses[String(status)].content['application/json'].schema as object;

  /** Fails with the validator's errors, so a mismatch says which field and why. */
  const expectValid = (schema: object, body: unknown) => {
    const validate = compile(schema);
    validate(body);
    expect(validate.errors ?? []).toEqual([]);
  };

  beforeAll(async () => {
    const host = await createStatsApp();
    document = buildDocument(host);
    await host.close();
    compile = validatorFor(document);
  });

  afterEach(async () => {
    await app?.close();
  });

  describe('the document', () => {
    it('has the route, bearer security and every documented status', () => {
      expect(Object.keys(document.paths)).toContain(DASHBOARD);
      expect(operation().summary).toBe('Get Dashboard Data for Active Sessions.');
      expect(operation().security).toEqual([{ bearer: [] }]);
      expect(document.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(Object.keys(operation().responses).sort()).toEqual(['200', ...ERROR_STATUSES]);
      expect(Object.keys(operation().parameters ?? [])).toEqual([]); // @Req/@Res are not parameters
    });

    it('describes the 200 body as DashboardSessionsDto with the documented example', () => {
      const ok = operation().responses['200'];
      expect(ok.description).toBe('Dashboard data for active sessions.');
      expect(Object.keys(ok.content)).toEqual(['application/json']);
      expect(ok.content['application/json'].schema).toEqual(ref('DashboardSessionsDto'));
      expect(ok.content['application/json'].examples.example1.value).toEqual(DOCUMENTED_EXAMPLE);
    });

    it('describes every error as the generic { id, message } object with the documented description', () => {
      const descriptions: Record<string, string> = {
        '401': 'Token error. Login again.',
        '403': 'Insufficient permissions to access this resource.',
        '406': "Invalid 'Accept' header.",
        '500': 'Unexpected server side error.',
        // Both 503s: the session store, and the identity provider's key set.
        '503': 'Session store unavailable. Try again later. / Token keys unavailable. Try again later.',
        '504': 'A session source did not answer in time.',
      };
      for (const status of ERROR_STATUSES) {
        const response = operation().responses[status];
        expect(response.content['application/json'].schema).toEqual(ref('StatsErrorDto'));
        expect(response.description).toBe(descriptions[status]);
      }
      expect(schemas().StatsErrorDto).toMatchObject({
        type: 'object',
        description: 'Generic HTTP error.',
        required: ['id', 'message'],
        properties: {
          id: { type: 'string', description: 'Machine readable error code.' },
          message: { type: 'string', description: 'Human readable error details.' },
        },
      });
    });

    it('gives DashboardSessionsDto the documented fields, with versions a map of ClientVersionSupport', () => {
      const dto = schemas().DashboardSessionsDto;
      expect(dto.type).toBe('object');
      expect(Object.keys(dto.properties)).toEqual(['totalCount', 'geoIpData', 'versions']);
      expect(dto.required).toEqual(['totalCount', 'geoIpData', 'versions']);
      expect(dto.properties.totalCount).toMatchObject({
        type: 'integer',
        description: 'The total count of active sessions.',
      });
      expect(dto.properties.geoIpData).toMatchObject({
        type: 'array',
        items: ref('SessionGeoData'),
        description: 'Geolocation data related to active sessions.',
      });
      expect(dto.properties.versions).toMatchObject({
        type: 'object',
        additionalProperties: ref('ClientVersionSupport'),
      });
      expect(dto.properties.versions.properties).toBeUndefined();
    });

    it('gives SessionGeoData and ClientVersionSupport the documented fields and types', () => {
      const geo = schemas().SessionGeoData;
      expect(Object.keys(geo.properties)).toEqual([
        'sessionCount',
        'latitude',
        'longitude',
        'countryCode',
        'continentCode',
        'ips',
      ]);
      expect(geo.required).toEqual(Object.keys(geo.properties));
      expect(geo.properties).toMatchObject({
        sessionCount: { type: 'integer', description: 'The count of sessions for this geolocation.' },
        latitude: { type: 'number', format: 'double' },
        longitude: { type: 'number', format: 'double' },
        countryCode: { type: 'string', description: 'The country code associated with the geolocation.' },
        continentCode: { type: 'string', description: 'The continent code associated with the geolocation.' },
        ips: {
          type: 'array',
          items: { type: 'string' },
          description: 'The IP addresses associated with the sessions in this geolocation.',
        },
      });

      const version = schemas().ClientVersionSupport;
      expect(Object.keys(version.properties)).toEqual(['supportStatus', 'sessionCount']);
      expect(version.required).toEqual(['supportStatus', 'sessionCount']);
      expect(version.properties).toMatchObject({
        supportStatus: { type: 'string', enum: ['full', 'partial', 'none'] },
        sessionCount: { type: 'integer' },
      });
    });

    it('accepts its own example and rejects bodies that break the schema', () => {
      expectValid(responseSchema(200), DOCUMENTED_EXAMPLE);
      const validate = compile(responseSchema(200));
      const broken = [
        { ...DOCUMENTED_EXAMPLE, totalCount: 6.5 },
        { ...DOCUMENTED_EXAMPLE, versions: { '1.0.0': { supportStatus: 'maybe', sessionCount: 1 } } },
        { ...DOCUMENTED_EXAMPLE, geoIpData: [{ ...DOCUMENTED_EXAMPLE.geoIpData[0], latitude: '55.8' }] },
        { ...DOCUMENTED_EXAMPLE, extra: true },
        { totalCount: 0, geoIpData: [] },
      ];
      for (const body of broken) expect(validate(body)).toBe(false);
      expect(compile(responseSchema(401))({ id: 'unauthorized' })).toBe(false);
    });
  });

  describe('real answers of the route match the document', () => {
    it('200, with sessions at several locations and versions', async () => {
      app = await createStatsApp();
      const sessions = app.get(SessionsService);
      await sessions.touchMany([
        { id: 's1', ip: '85.228.0.1', clientVersion: '6.0.0-release-1234' },
        { id: 's2', ip: '8.8.8.8', clientVersion: '5.5.0-release-1234' },
        { id: 's3', ip: '2001:4860:4860::8888', clientVersion: '5.4.1-release-1234' },
        { id: 's4', ip: '10.1.2.3' }, // no location, unknown version
      ]);
      const response = await request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer()).expect(200);
      expect(response.body.totalCount).toBe(4);
      expect(response.body.geoIpData.length).toBeGreaterThan(1);
      expect(Object.values(response.body.versions).map((v: any) => v.supportStatus)).toEqual(
        expect.arrayContaining(['full', 'partial', 'none']),
      );
      expectValid(responseSchema(200), response.body);
    });

    it('200, empty', async () => {
      app = await createStatsApp();
      const response = await request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer()).expect(200);
      expectValid(responseSchema(200), response.body);
    });

    it('401, 403 and 406', async () => {
      app = await createStatsApp();
      const server = app.getHttpServer();
      const answers = [
        await request(server).get(DASHBOARD).expect(401),
        await request(server).get(DASHBOARD).set('Authorization', 'Bearer not-a-token').expect(401),
        await request(server)
          .get(DASHBOARD)
          .set('Authorization', bearer({ roles: [] }))
          .expect(403),
        await request(server).get(DASHBOARD).set('Authorization', bearer()).set('Accept', 'text/html').expect(406),
      ];
      for (const response of answers) {
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expectValid(responseSchema(response.status), response.body);
      }
    });

    it('500 and 503 from a failing store', async () => {
      for (const [failure, status] of [
        [new Error('disk on fire'), 500],
        [new StoreUnavailableError(new Error('connection refused')), 503],
      ] as const) {
        app = await createStatsApp({ sessions: { store: failingStore(failure) } });
        const response = await request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer());
        expect(response.status).toBe(status);
        expectValid(responseSchema(status), response.body);
        await app.close();
      }
    });

    it('504 from a session source that does not answer', async () => {
      const silent = { name: 'silent', listActiveSessions: () => new Promise<never>(() => undefined) };
      app = await createStatsApp({ sessions: { sources: [silent], sourceTimeoutMs: 50 } });
      const response = await request(app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer()).expect(504);
      expectValid(responseSchema(504), response.body);
    });
  });
});

describe('@nestjs/swagger is optional', () => {
  const MODELS = 'swagger/apiModelPropertiesArray';

  type Dto = typeof import('../src/stats/dashboard/dashboard.dto');
  type OpenApi = typeof import('../src/stats/dashboard/dashboard.openapi');

  /** The dashboard's DTO and OpenAPI files, loaded afresh with `swagger` standing for the package. */
  function loadWith(swagger: () => unknown): { dto: Dto; openapi: OpenApi } {
    let loaded: { dto: Dto; openapi: OpenApi } | undefined;
    jest.isolateModules(() => {
      jest.doMock('@nestjs/swagger', swagger, { virtual: true });
      loaded = {
        dto: require('../src/stats/dashboard/dashboard.dto'),
        openapi: require('../src/stats/dashboard/dashboard.openapi'),
      };
    });
    jest.dontMock('@nestjs/swagger');
    return loaded!;
  }

  const notInstalled = () => {
    throw Object.assign(new Error("Cannot find module '@nestjs/swagger' from 'dashboard.openapi.ts'"), {
      code: 'MODULE_NOT_FOUND',
    });
  };

  /** The metadata keys the route decorator leaves on a handler. */
  function routeMetadata({ dto, openapi }: { dto: Dto; openapi: OpenApi }): unknown[] {
    class Probe {
      @openapi.ApiDashboardRoute({
        dashboard: dto.DashboardSessionsDto,
        versionSupport: dto.ClientVersionSupport,
        error: dto.StatsErrorDto,
      })
      route() {}
    }
    return Reflect.getMetadataKeys(Probe.prototype.route);
  }

  it('documents nothing, and fails nothing, when the host has not installed it', () => {
    const loaded = loadWith(notInstalled);
    expect(Reflect.getMetadata(MODELS, loaded.dto.DashboardSessionsDto.prototype)).toBeUndefined();
    expect(routeMetadata(loaded)).toEqual([]);
  });

  it('documents the DTOs and the route when it is installed', () => {
    const loaded = loadWith(() => jest.requireActual('@nestjs/swagger'));
    expect(Reflect.getMetadata(MODELS, loaded.dto.DashboardSessionsDto.prototype)).toEqual([
      ':totalCount',
      ':geoIpData',
      ':versions',
    ]);
    expect(routeMetadata(loaded)).toEqual(expect.arrayContaining(['swagger/apiResponse', 'swagger/apiOperation']));
  });

  it('still fails loudly when an installed @nestjs/swagger cannot load', () => {
    const broken = () => {
      throw Object.assign(new Error("Cannot find module 'js-yaml' from '@nestjs/swagger/dist/index.js'"), {
        code: 'MODULE_NOT_FOUND',
      });
    };
    expect(() => loadWith(broken)).toThrow(/js-yaml/);
  });
});

/** A store whose every call fails with `error`. */
function failingStore(error: Error): SessionStore {
  const fail = () => Promise.reject(error);
  return { upsert: fail, remove: fail, revision: fail, aggregates: fail, find: fail, ping: fail };
}
