import type { INestApplication } from '@nestjs/common';
import { sign, type Algorithm } from 'jsonwebtoken';
import request from 'supertest';
import { createStatsApp, DASHBOARD } from './support/stats-app';
import { expect401 } from './support/refusals';

const SECRET_A = 'tenant-a-secret-of-at-least-thirty-two-chars';
const SECRET_B = 'tenant-b-secret-of-at-least-thirty-two-chars';

const token = (secret: string, claims: Record<string, unknown> = {}, algorithm: Algorithm = 'HS256') =>
  sign({ sub: 'admin', roles: ['stats:read'], ...claims }, secret, { algorithm, expiresIn: '5m' });

describe('Several StatsModules in one process, each with its own keys', () => {
  let tenantA: INestApplication;
  let tenantB: INestApplication;
  const get = (app: INestApplication, jwt: string) =>
    request(app.getHttpServer()).get(DASHBOARD).set('Authorization', `Bearer ${jwt}`);

  beforeAll(async () => {
    // A first, with an issuer, an audience and one algorithm; B started afterwards without them.
    tenantA = await createStatsApp({
      auth: { secret: SECRET_A, issuer: 'https://a.example', audience: 'stats-a', algorithms: ['HS256'] },
    });
    tenantB = await createStatsApp({ auth: { secret: SECRET_B } });
  });

  afterAll(async () => {
    await tenantA?.close();
    await tenantB?.close();
  });

  it("admits each tenant's own tokens", async () => {
    await get(tenantA, token(SECRET_A, { iss: 'https://a.example', aud: 'stats-a' })).expect(200);
    await get(tenantB, token(SECRET_B)).expect(200);
  });

  it('refuses on each module a token good for the other one', async () => {
    expect401(await get(tenantA, token(SECRET_B)), true);
    expect401(await get(tenantB, token(SECRET_A, { iss: 'https://a.example', aud: 'stats-a' })), true);
  });

  it("keeps the first module's issuer, audience and algorithms after the second one started", async () => {
    await get(tenantA, token(SECRET_A, { iss: 'https://a.example', aud: 'stats-a' })).expect(200);
    expect401(await get(tenantA, token(SECRET_A, { aud: 'stats-a' })), true); // no iss
    expect401(await get(tenantA, token(SECRET_A, { iss: 'https://a.example' })), true); // no aud
    expect401(await get(tenantA, token(SECRET_A, { iss: 'https://a.example', aud: 'stats-a' }, 'HS512')), true);
    await get(tenantB, token(SECRET_B, {}, 'HS512')).expect(200);
  });

  it('keeps each module right when a third one starts and stops meanwhile', async () => {
    const third = await createStatsApp({ auth: { secret: 'a-third-secret-of-at-least-thirty-two-chars' } });
    await third.close();
    await get(tenantA, token(SECRET_A, { iss: 'https://a.example', aud: 'stats-a' })).expect(200);
    await get(tenantB, token(SECRET_B)).expect(200);
    expect401(await get(tenantB, token('a-third-secret-of-at-least-thirty-two-chars')), true);
  });
});
