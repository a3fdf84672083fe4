import type { INestApplication } from '@nestjs/common';
import { sign } from 'jsonwebtoken';
import request from 'supertest';
import { createStatsApp, DASHBOARD, RecordingLogger } from './support/stats-app';
import { b64url } from './support/keys';
import { expect401, expectRefusal, FORBIDDEN } from './support/refusals';
import { bearer, TEST_SECRET, tokenFor } from './support/tokens';

const OTHER_SECRET = 'another-secret-of-at-least-32-characters';
const now = () => Math.floor(Date.now() / 1000);

describe('Bearer tokens on GET /stats/active-sessions/dashboard (HMAC secret)', () => {
  let app: INestApplication;
  let logger: RecordingLogger;
  const get = (authorization?: string, path = DASHBOARD) => {
    const call = request(app.getHttpServer()).get(path);
    return authorization === undefined ? call : call.set('Authorization', authorization);
  };

  async function start(auth: Record<string, unknown> = {}): Promise<void> {
    logger = new RecordingLogger();
    app = await createStatsApp({ auth: { secret: TEST_SECRET, ...auth } }, logger);
  }

  afterEach(async () => {
    await app?.close();
  });

  describe('with the default options', () => {
    beforeEach(() => start());

    it('admits a valid token holding the required role', async () => {
      const response = await get(bearer()).expect(200);
      expect(response.body).toEqual({ totalCount: 0, geoIpData: [], versions: {} });
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it.each(['bearer', 'BEARER', 'BeArEr'])('reads the scheme case-insensitively (%s)', async (scheme) => {
      await get(`${scheme} ${tokenFor()}`).expect(200);
    });

    it.each(['HS384', 'HS512'] as const)('admits %s, an HMAC algorithm of the secret', async (algorithm) => {
      await get(bearer(undefined, { algorithm })).expect(200);
    });

    it('refuses a request without an Authorization header, and logs why', async () => {
      const response = await get();
      expect401(response, false);
      expect(logger.text()).toContain('no Authorization header');
    });

    it.each([
      ['Basic', 'Basic dXNlcjpwYXNzd29yZA=='],
      ['Token', `Token ${tokenFor()}`],
      ['a scheme glued to the token', `Bearer${tokenFor()}`],
      ['a bare token', tokenFor()],
    ])('refuses another scheme (%s) as if no bearer token were given', async (_name, authorization) => {
      expect401(await get(authorization), false);
      expect(logger.text()).toContain(
        'warn Refused GET /stats/active-sessions/dashboard: the Authorization header is not of the Bearer scheme',
      );
    });

    it.each([['Bearer'], ['Bearer '], ['Bearer \t ']])('refuses an empty token (%j)', async (authorization) => {
      expect401(await get(authorization), false);
      expect(logger.text()).toContain('the bearer token is empty');
    });

    it.each([
      ['garbage', 'Bearer not-a-token', 'jwt malformed'],
      ['three garbage segments', 'Bearer a.b.c', 'invalid token'],
      ['two tokens', `Bearer ${tokenFor()} ${tokenFor()}`, 'not a single well-formed bearer token'],
      ['a token with characters no token has', `Bearer ${tokenFor()}<script>`, 'not a single well-formed bearer token'],
      ['a truncated token', `Bearer ${tokenFor().slice(0, -12)}`, 'invalid signature'],
      [
        'a token without its signature',
        `Bearer ${tokenFor().split('.').slice(0, 2).join('.')}.`,
        'jwt signature is required',
      ],
      [
        'a token signed with another secret',
        `Bearer ${sign({ roles: ['stats:read'] }, OTHER_SECRET, { expiresIn: '5m' })}`,
        'invalid signature',
      ],
    ])('refuses %s with 401 and the reason in the log only', async (_name, authorization, reason) => {
      const response = await get(authorization);
      expect401(response, true);
      expect(logger.text()).toContain(reason);
      expect(response.text).not.toContain(reason);
    });

    it('refuses a token whose claims were altered after signing', async () => {
      const [header, , signature] = tokenFor({ roles: [] }).split('.');
      const forged = `${header}.${b64url({ sub: 'admin-1', roles: ['stats:read'], exp: now() + 300 })}.${signature}`;
      expect401(await get(`Bearer ${forged}`), true);
      expect(logger.text()).toContain('invalid signature');
    });

    it.each(['none', 'None', 'NONE'])('refuses an unsigned token (alg %s)', async (alg) => {
      const unsigned = `${b64url({ alg, typ: 'JWT' })}.${b64url({ sub: 'admin-1', roles: ['stats:read'], exp: now() + 300 })}.`;
      const response = await get(`Bearer ${unsigned}`);
      expect401(response, true);
      expect(logger.text()).toMatch(/jwt signature is required|invalid algorithm/);
    });

    it('refuses an expired token, beyond the clock tolerance', async () => {
      const response = await get(bearer({ roles: ['stats:read'], exp: now() - 30 }));
      expect401(response, true);
      expect(logger.text()).toContain('TokenExpiredError: jwt expired');
      expect(response.text).not.toMatch(/expired/i);
    });

    it('admits a token expired within the clock tolerance (5 s by default)', async () => {
      await get(bearer({ roles: ['stats:read'], exp: now() - 2 })).expect(200);
    });

    it('refuses a token not valid yet, beyond the clock tolerance', async () => {
      const response = await get(bearer({ roles: ['stats:read'], nbf: now() + 60 }));
      expect401(response, true);
      expect(logger.text()).toContain('NotBeforeError: jwt not active');
    });

    it('admits a token valid within the clock tolerance', async () => {
      await get(bearer({ roles: ['stats:read'], nbf: now() + 2, iat: now() + 2 })).expect(200);
    });

    it('never reads a token from the query string', async () => {
      const token = tokenFor();
      for (const name of ['access_token', 'token', 'auth_token', 'jwt', 'authorization']) {
        expect401(await get(undefined, `${DASHBOARD}?${name}=${token}`), false);
      }
      expect(logger.text()).not.toContain(token);
    });

    it('never reads a token from a cookie', async () => {
      const token = tokenFor();
      const response = await request(app.getHttpServer())
        .get(DASHBOARD)
        .set('Cookie', `access_token=${token}; jwt=${token}; Authorization=Bearer%20${token}`);
      expect401(response, false);
    });

    it('refuses a 10 kB Authorization header quickly, and keeps serving', async () => {
      const started = Date.now();
      const huge = `Bearer ${'A'.repeat(10_240)}`;
      expect401(await get(huge), true);
      expect401(await get(`Bearer ${tokenFor({ roles: ['stats:read'], pad: 'x'.repeat(10_240) })}`), true);
      expect(Date.now() - started).toBeLessThan(1000);
      await get(bearer()).expect(200);
      expect(logger.text()).toContain('the bearer token is longer than 8192 characters');
      expect(logger.text()).not.toContain('A'.repeat(100));
    });

    it('refuses a valid token without the role (403), naming the missing role in the log only', async () => {
      const response = await get(bearer({ roles: ['stats:write', 'admin'] }));
      expectRefusal(response, 403, FORBIDDEN);
      expect(response.headers['www-authenticate']).toBeUndefined();
      expect(logger.text()).toMatch(/lacks role\(s\) stats:read under claim "roles"/);
      expect(response.text).not.toContain('stats:read');
    });

    it.each([
      ['missing', {}],
      ['null', { roles: null }],
      ['a number', { roles: 42 }],
      ['an object', { roles: { 'stats:read': true } }],
      ['a list of non-strings', { roles: [1, true, null, ['stats:read'], { 'stats:read': 1 }] }],
      ['a string that merely contains the role', { roles: 'stats:reader,stats:read!' }],
      ['a role of another case', { roles: ['STATS:READ'] }],
    ])('refuses roles that are %s with 403', async (_name, claims) => {
      expectRefusal(await get(bearer(claims)), 403, FORBIDDEN);
    });

    it('reads a space-separated string of roles, as in an OAuth scope claim', async () => {
      await get(bearer({ roles: 'openid stats:read profile' })).expect(200);
      await get(bearer({ roles: '  stats:read\t' })).expect(200);
    });

    it('does not take the roles from a "__proto__" claim', async () => {
      const token = sign('{"sub":"admin-1","__proto__":{"roles":["stats:read"]}}', TEST_SECRET);
      expectRefusal(await get(`Bearer ${token}`), 403, FORBIDDEN);
    });
  });

  describe('with issuer and audience', () => {
    beforeEach(() => start({ issuer: 'https://idp.example.com/', audience: ['stats-api', 'admin-ui'] }));

    it('admits a token of the issuer for one of the audiences', async () => {
      await get(bearer(undefined, { issuer: 'https://idp.example.com/', audience: 'admin-ui' })).expect(200);
      await get(bearer(undefined, { issuer: 'https://idp.example.com/', audience: ['other', 'stats-api'] })).expect(
        200,
      );
    });

    it.each([
      ['a wrong issuer', { issuer: 'https://evil.example.com/', audience: 'stats-api' }, 'jwt issuer invalid'],
      ['no issuer', { audience: 'stats-api' }, 'jwt issuer invalid'],
      ['a wrong audience', { issuer: 'https://idp.example.com/', audience: 'billing-api' }, 'jwt audience invalid'],
      ['no audience', { issuer: 'https://idp.example.com/' }, 'jwt audience invalid'],
    ])('refuses a token with %s', async (_name, options, reason) => {
      const response = await get(bearer(undefined, options));
      expect401(response, true);
      expect(logger.text()).toContain(reason);
      expect(response.text).not.toContain('idp.example.com');
    });
  });

  describe('with requiredRoles and a nested rolesClaim', () => {
    beforeEach(() => start({ rolesClaim: 'realm_access.roles', requiredRoles: ['stats:read', 'ops'] }));

    it('admits a token holding every required role under the nested claim', async () => {
      await get(bearer({ realm_access: { roles: ['ops', 'stats:read', 'other'] } })).expect(200);
      await get(bearer({ realm_access: { roles: 'ops stats:read' } })).expect(200);
    });

    it.each([
      ['only some of the roles', { realm_access: { roles: ['stats:read'] } }],
      ['the roles at the top level', { roles: ['stats:read', 'ops'] }],
      ['a list where an object is expected', { realm_access: [['stats:read', 'ops']] }],
      ['a string where an object is expected', { realm_access: 'stats:read ops' }],
    ])('refuses a token with %s (403)', async (_name, claims) => {
      expectRefusal(await get(bearer(claims)), 403, FORBIDDEN);
    });
  });

  describe('with a namespaced roles claim (a claim name holding dots)', () => {
    beforeEach(() => start({ rolesClaim: 'https://example.com/roles' }));

    it('reads the claim by its full name before following the dots', async () => {
      await get(bearer({ 'https://example.com/roles': ['stats:read'] })).expect(200);
      expectRefusal(await get(bearer({ roles: ['stats:read'] })), 403, FORBIDDEN);
    });
  });
});
