import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createStatsApp, DASHBOARD, RecordingLogger } from './support/stats-app';
import { expectRefusal, NOT_ACCEPTABLE } from './support/refusals';
import { bearer } from './support/tokens';

const VENDOR = 'application/vnd.example.stats-v1+json';

describe('Accept negotiation on GET /stats/active-sessions/dashboard', () => {
  let app: INestApplication;
  let logger: RecordingLogger;

  /** `authorization` null sends no Authorization header. */
  const get = (accept: string | undefined, authorization: string | null = bearer()) => {
    let call = request(app.getHttpServer()).get(DASHBOARD);
    if (authorization !== null) call = call.set('Authorization', authorization);
    return accept === undefined ? call : call.set('Accept', accept);
  };

  afterEach(async () => {
    await app?.close();
  });

  describe(`with acceptedMediaTypes [${VENDOR}]`, () => {
    beforeEach(async () => {
      logger = new RecordingLogger();
      app = await createStatsApp({ acceptedMediaTypes: [VENDOR] }, logger);
    });

    it.each([
      ['no Accept header', undefined, 'application/json'],
      ['an empty Accept header', '', 'application/json'],
      ['*/*', '*/*', 'application/json'],
      ['application/*', 'application/*', 'application/json'],
      ['application/json', 'application/json', 'application/json'],
      ['upper case', 'APPLICATION/JSON', 'application/json'],
      ['application/json with charset=utf-8', 'application/json; charset=UTF-8', 'application/json'],
      ['the vendor type', VENDOR, VENDOR],
      ['the vendor type preferred by q', `application/json;q=0.5, ${VENDOR}`, VENDOR],
      ['JSON preferred by q', `${VENDOR};q=0.5, application/json;q=0.9`, 'application/json'],
      ['JSON as a low-q fallback', 'text/html, application/json;q=0.1', 'application/json'],
      ['a browser Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/json'],
      ['JSON excluded but anything else allowed', 'application/json;q=0, */*', VENDOR],
      [
        'a long list ending in JSON',
        `${Array.from({ length: 200 }, (_, i) => `text/x-${i}`).join(', ')}, application/json`,
        'application/json',
      ],
    ])('admits %s, answering with the negotiated type', async (_name, accept, contentType) => {
      const response = await get(accept).expect(200);
      expect(response.headers['content-type']).toBe(`${contentType}; charset=utf-8`);
      expect(response.body).toEqual({ totalCount: 0, geoIpData: [], versions: {} });
      expect(response.headers.vary).toMatch(/Accept/);
    });

    it.each([
      ['text/html', 'text/html'],
      ['text/*', 'text/*'],
      ['application/xml', 'application/xml'],
      ['image/png', 'image/png'],
      ['another vendor type', 'application/vnd.other+json'],
      ['JSON with q=0', 'application/json;q=0'],
      ['JSON and the vendor type with q=0', `application/json;q=0, ${VENDOR};q=0`],
      ['everything with q=0', '*/*;q=0'],
      ['application/* with q=0', 'application/*;q=0'],
      ['another charset', 'application/json; charset=iso-8859-1'],
      ['an unknown parameter', 'application/json; version=2'],
      ['garbage', 'garbage'],
      ['separators only', ',,,;;;'],
      ['a lone *', '*'],
    ])('answers 406 to %s, the header in the log only', async (_name, accept) => {
      const response = await get(accept);
      expectRefusal(response, 406, NOT_ACCEPTABLE);
      expect(response.headers['www-authenticate']).toBeUndefined();
      expect(logger.text()).toContain(`Accept ${JSON.stringify(accept)} admits none of application/json, ${VENDOR}`);
    });

    it('logs the path of the refused request without its query string', async () => {
      const response = await request(app.getHttpServer())
        .get(`${DASHBOARD}?session=secret-42`)
        .set('Authorization', bearer())
        .set('Accept', 'text/html');
      expectRefusal(response, 406, NOT_ACCEPTABLE);
      expect(logger.text()).toContain('warn Refused GET /stats/active-sessions/dashboard: Accept "text/html"');
      expect(logger.text()).not.toContain('secret-42');
    });

    it('answers 406 to an 8 kB Accept header quickly', async () => {
      const started = Date.now();
      const response = await get(`${'text/x;a=b;'.repeat(400)}, ${'x/y,'.repeat(1000)}`);
      expectRefusal(response, 406, NOT_ACCEPTABLE);
      expect(Date.now() - started).toBeLessThan(1000);
    });

    describe('checks in the order 401, 403, 406', () => {
      it('answers 401, not 406, without a token', async () => {
        const response = await get('text/html', null);
        expectRefusal(response, 401, { id: 'unauthorized', message: 'Token error. Login again.' });
        expect(response.headers['www-authenticate']).toBe('Bearer');
      });

      it('answers 401, not 406, to a bad token', async () => {
        const response = await get('text/html', 'Bearer not-a-token');
        expectRefusal(response, 401, { id: 'unauthorized', message: 'Token error. Login again.' });
        expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      });

      it('answers 403, not 406, to a token without the role', async () => {
        const response = await get('text/html', bearer({ roles: [] }));
        expectRefusal(response, 403, { id: 'forbidden', message: 'Insufficient permissions to access this resource.' });
        expect(logger.text()).not.toContain('Accept');
      });
    });
  });

  describe('without acceptedMediaTypes', () => {
    beforeEach(async () => {
      logger = new RecordingLogger();
      app = await createStatsApp({}, logger);
    });

    it('answers 406 to the vendor type, which it was not configured with', async () => {
      expectRefusal(await get(VENDOR), 406, NOT_ACCEPTABLE);
      expectRefusal(await get('application/json;q=0, */*'), 406, NOT_ACCEPTABLE);
    });

    it('admits application/json and wildcards', async () => {
      for (const accept of ['application/json', '*/*', 'application/*', `${VENDOR}, application/json;q=0.2`]) {
        const response = await get(accept).expect(200);
        expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      }
    });
  });
});
