import { createHmac } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createStatsApp, DASHBOARD, RecordingLogger } from './support/stats-app';
import { expect401 } from './support/refusals';
import { TEST_SECRET, tokenFor } from './support/tokens';

const now = () => Math.floor(Date.now() / 1000);
/** Several values of one header, each sent as a header line of its own (superagent types allow it for Cookie only). */
const headerLines = (...values: string[]) => values as unknown as string;

/** A token correctly signed with the test secret over exactly these header and claims texts. */
function signedRaw(header: object, claimsJson: string): string {
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(claimsJson).toString('base64url')}`;
  return `${signingInput}.${createHmac('sha256', TEST_SECRET).update(signingInput).digest('base64url')}`;
}

describe('Tokens whose contents are wrong although their signature is right', () => {
  let app: INestApplication;
  let logger: RecordingLogger;
  const get = () => request(app.getHttpServer()).get(DASHBOARD);

  beforeEach(async () => {
    logger = new RecordingLogger();
    app = await createStatsApp({}, logger);
  });

  afterEach(async () => {
    await app?.close();
  });

  const goodClaims = () => JSON.stringify({ sub: 'admin-1', roles: ['stats:read'], exp: now() + 300 });

  it('admits the same token without crit (the signing here is right)', async () => {
    await get()
      .set('Authorization', `Bearer ${signedRaw({ alg: 'HS256', typ: 'JWT' }, goodClaims())}`)
      .expect(200);
  });

  it.each([[['exp']], [['b64']], [['http://example.com/unknown']]])(
    'refuses a crit header naming %j: the module understands no extension (RFC 7515 4.1.11)',
    async (crit) => {
      const token = signedRaw({ alg: 'HS256', typ: 'JWT', crit, exp: now() + 300, b64: true }, goodClaims());
      expect401(await get().set('Authorization', `Bearer ${token}`), true);
      expect(logger.text()).toContain('"crit" header names extensions this module does not understand');
    },
  );

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"stats:read"'],
    ['a boolean', 'true'],
    ['an array of expired claims', JSON.stringify([{ sub: 'admin-1', roles: ['stats:read'], exp: now() - 3600 }])],
    ['an array of valid claims', JSON.stringify([{ sub: 'admin-1', roles: ['stats:read'], exp: now() + 300 }])],
  ])('refuses a claims set that is %s with 401, never 500 or 200', async (_kind, claimsJson) => {
    const response = await get().set('Authorization', `Bearer ${signedRaw({ alg: 'HS256', typ: 'JWT' }, claimsJson)}`);
    expect401(response, true);
    expect(logger.text()).toContain("the token's claims set is not a JSON object");
    expect(logger.text()).not.toContain('error');
  });

  it('refuses a request with more than one Authorization header, even when each holds a valid token', async () => {
    const response = await get().set('Authorization', headerLines(`Bearer ${tokenFor()}`, `Bearer ${tokenFor()}`));
    expect401(response, true);
    expect(logger.text()).toContain('the request has more than one Authorization header');
    // One header with the same token is admitted: the refusal is for the repetition alone.
    await get().set('Authorization', `Bearer ${tokenFor()}`).expect(200);
  });

  it('refuses a second Authorization header after a valid one even once the token is cached', async () => {
    const token = tokenFor();
    await get().set('Authorization', `Bearer ${token}`).expect(200);
    expect401(await get().set('Authorization', headerLines(`Bearer ${token}`, 'Basic dXNlcjpwYXNz')), true);
  });
});
