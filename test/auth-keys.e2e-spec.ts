import type { INestApplication } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import request from 'supertest';
import type { StatsAuthOptions } from '../src/stats';
import { JwksTestServer } from './support/jwks';
import { b64url, ecKeyPair, publicJwk, rsaKeyPair, signWith, type TestKeyPair } from './support/keys';
import { createStatsApp, DASHBOARD, RecordingLogger } from './support/stats-app';
import { expect401 } from './support/refusals';
import { tokenFor } from './support/tokens';

const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token whose HMAC secret is the verifier's public key: the classic algorithm confusion. */
function hmacWithPublicKey(pair: TestKeyPair, header: Record<string, unknown> = {}): string {
  const head = b64url({ alg: 'HS256', typ: 'JWT', ...header });
  const body = b64url({ sub: 'admin-1', roles: ['stats:read'], exp: now() + 300 });
  const signature = createHmac('sha256', pair.publicPem).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

function unsigned(header: Record<string, unknown> = {}): string {
  return `${b64url({ alg: 'none', typ: 'JWT', ...header })}.${b64url({ sub: 'admin-1', roles: ['stats:read'], exp: now() + 300 })}.`;
}

describe('Token keys', () => {
  let app: INestApplication | undefined;
  let logger: RecordingLogger;
  const get = (token: string) => request(app!.getHttpServer()).get(DASHBOARD).set('Authorization', `Bearer ${token}`);

  async function start(auth: StatsAuthOptions): Promise<void> {
    logger = new RecordingLogger();
    app = await createStatsApp({ auth }, logger);
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe('a PEM RSA public key', () => {
    const pair = rsaKeyPair('RS256');
    const stranger = rsaKeyPair('RS256');
    beforeEach(() => start({ publicKey: pair.publicPem }));

    it.each(['RS256', 'RS384', 'RS512', 'PS256'] as const)('admits a token signed with %s', async (algorithm) => {
      await get(signWith({ ...pair, algorithm })).expect(200);
    });

    it("refuses, at request time, an algorithm of the key's family that a narrowed algorithms list leaves out", async () => {
      await app!.close();
      await start({ publicKey: pair.publicPem, algorithms: ['RS256'] });
      await get(signWith({ ...pair, algorithm: 'RS256' })).expect(200);
      for (const algorithm of ['RS512', 'PS256'] as const) {
        expect401(await get(signWith({ ...pair, algorithm })));
      }
      expect(logger.text()).toContain('invalid algorithm');
    });

    it('refuses a token signed with another RSA key', async () => {
      expect401(await get(signWith(stranger)));
      expect(logger.text()).toContain('invalid signature');
    });

    it('refuses an HS256 token forged with the public key as the HMAC secret', async () => {
      const response = await get(hmacWithPublicKey(pair));
      expect401(response);
      expect(logger.text()).toContain('invalid algorithm');
      expect(response.text).not.toContain('algorithm');
    });

    it('refuses an unsigned token', async () => {
      expect401(await get(unsigned()));
    });

    it('refuses an HS256 token of the HMAC secret the default test apps use', async () => {
      expect401(await get(tokenFor()));
    });
  });

  describe('a PEM EC public key (P-256)', () => {
    const pair = ecKeyPair('ES256');
    beforeEach(() => start({ publicKey: pair.publicPem, issuer: 'https://idp.example.com/', audience: 'stats-api' }));

    it('admits an ES256 token of the issuer and audience', async () => {
      await get(signWith(pair, undefined, { issuer: 'https://idp.example.com/', audience: 'stats-api' })).expect(200);
    });

    it('refuses an ES256 token signed with another P-256 key', async () => {
      expect401(
        await get(
          signWith(ecKeyPair('ES256'), undefined, { issuer: 'https://idp.example.com/', audience: 'stats-api' }),
        ),
      );
    });

    it('refuses a token forged with the public key as the HMAC secret', async () => {
      expect401(await get(hmacWithPublicKey(pair)));
    });

    it('refuses an expired ES256 token', async () => {
      const expired = signWith(
        pair,
        { roles: ['stats:read'], exp: now() - 60 },
        { issuer: 'https://idp.example.com/', audience: 'stats-api' },
      );
      expect401(await get(expired));
      expect(logger.text()).toContain('jwt expired');
    });
  });

  describe('a JWKS endpoint', () => {
    const first = rsaKeyPair('RS256');
    const second = rsaKeyPair('RS256');
    const ec = ecKeyPair('ES256');
    let jwks: JwksTestServer;

    beforeEach(async () => {
      jwks = await new JwksTestServer().start([publicJwk(first, 'key-1'), publicJwk(ec, 'ec-1')]);
      await start({ jwksUri: jwks.uri, audience: 'stats-api' });
    });

    afterEach(async () => {
      await app?.close();
      app = undefined;
      await jwks.stop();
    });

    // One issue time for every token of a test: the same key and claims give the same token whatever
    // second it is signed in, so a refused token is refused as a token seen before, not a new one.
    const issuedAt = now();
    const signed = (
      pair: TestKeyPair,
      kid: string | undefined,
      claims: Record<string, unknown> = { roles: ['stats:read'] },
    ) =>
      signWith(
        pair,
        { iat: issuedAt, ...claims },
        { audience: 'stats-api', ...(kid === undefined ? {} : { keyid: kid }) },
      );

    it('admits RS256 and ES256 tokens by kid, and caches the key set', async () => {
      await get(signed(first, 'key-1')).expect(200);
      await get(signed(ec, 'ec-1')).expect(200);
      await get(signed(first, 'key-1')).expect(200);
      expect(jwks.fetches).toBe(1);
    });

    it('picks up a rotated key without a restart', async () => {
      const before = signed(first, 'key-1');
      await get(before).expect(200);
      jwks.setKeys([publicJwk(second, 'key-2')]);
      await get(signed(second, 'key-2')).expect(200);
      expect(jwks.fetches).toBe(2);
      // The key set is replaced as a whole: a key the provider no longer publishes stops verifying,
      // even for the very token that verified before the rotation, and for a new one of that key.
      expect(signed(first, 'key-1')).toBe(before);
      expect401(await get(before));
      expect401(await get(signed(first, 'key-1', { roles: ['stats:read'], jti: 'another' })));
    });

    it('refuses a token with an unknown kid, after one refetch', async () => {
      await get(signed(first, 'key-1')).expect(200);
      const response = await get(signed(second, 'nobody'));
      expect401(response);
      expect(jwks.fetches).toBe(2);
      expect(logger.text()).toContain('no key of the key set has the kid "nobody"');
      expect(response.text).not.toContain('nobody');
    });

    it('refuses a token signed with another key under a known kid', async () => {
      expect401(await get(signed(second, 'key-1')));
      expect(logger.text()).toContain('invalid signature');
    });

    it('refuses a token without a kid when the key set has several keys', async () => {
      expect401(await get(signed(first, undefined)));
      expect(logger.text()).toContain('the token has no kid');
    });

    it('admits a token without a kid when the key set has exactly one key', async () => {
      jwks.setKeys([publicJwk(first, 'only')]);
      await get(signed(first, undefined)).expect(200);
    });

    it('refuses an algorithm other than the one the key is published for', async () => {
      expect401(
        await get(signWith({ ...first, algorithm: 'RS384' }, undefined, { audience: 'stats-api', keyid: 'key-1' })),
      );
      expect(logger.text()).toContain('published for RS256');
    });

    it.each([
      [
        'an HS256 token forged with the public key as the HMAC secret',
        () => hmacWithPublicKey(first, { kid: 'key-1' }),
      ],
      [
        'an HS256 token signed with the PEM text',
        () =>
          sign({ roles: ['stats:read'], aud: 'stats-api' }, first.publicPem, { algorithm: 'HS256', keyid: 'key-1' }),
      ],
      ['an unsigned token', () => unsigned({ kid: 'key-1' })],
      ['garbage', () => 'garbage'],
    ])('refuses %s without fetching keys', async (_name, token) => {
      expect401(await get(token()));
      expect(jwks.fetches).toBe(0);
    });

    it('refetches for unknown kids at most 10 times a minute, and keeps admitting known keys', async () => {
      await get(signed(first, 'key-1')).expect(200);
      for (let index = 0; index < 25; index += 1) expect401(await get(signed(second, `random-${index}`)));
      expect(jwks.fetches).toBe(11);
      await get(signed(first, 'key-1')).expect(200);
      await get(signed(ec, 'ec-1')).expect(200);
    });

    it('shares one fetch between concurrent requests', async () => {
      const responses = await Promise.all(Array.from({ length: 10 }, () => get(signed(first, 'key-1'))));
      expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
      expect(jwks.fetches).toBe(1);
    });

    it('answers 503 while the endpoint is down and no key is known, the cause in the log only', async () => {
      await jwks.stop();
      const response = await get(signed(first, 'key-1'));
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ id: 'service_unavailable', message: 'Token keys unavailable. Try again later.' });
      expect(response.headers['retry-after']).toBe('5');
      expect(response.headers['www-authenticate']).toBeUndefined();
      expect(response.text).not.toContain('127.0.0.1');
      expect(logger.text()).toMatch(
        /warn 503 service_unavailable: JWKS http:\/\/127\.0\.0\.1:\d+\/.* could not be fetched/,
      );
    });

    it('keeps the last key set while the endpoint is down', async () => {
      await get(signed(first, 'key-1')).expect(200);
      await jwks.stop();
      expect401(await get(signed(second, 'key-2')));
      await get(signed(first, 'key-1')).expect(200);
    });
  });

  describe('start-up', () => {
    const pair = rsaKeyPair('RS256');

    it.each([
      ['no key material', {}, 'auth'],
      [
        'two kinds of key',
        { secret: 'a-secret-of-at-least-thirty-two-characters', publicKey: pair.publicPem },
        'auth.publicKey',
      ],
      [
        'an unreadable PEM',
        { publicKey: '-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----' },
        'auth.publicKey',
      ],
      ['an empty role list', { publicKey: pair.publicPem, requiredRoles: [] }, 'auth.requiredRoles'],
      [
        'HMAC allowed beside a public key',
        { publicKey: pair.publicPem, algorithms: ['RS256', 'HS256'] },
        'auth.algorithms',
      ],
      ['a misspelt option', { publicKey: pair.publicPem, requiredRole: ['ops'] }, 'auth.requiredRole'],
    ])('fails with %s, naming the option', async (_name, auth, option) => {
      await expect(createStatsApp({ auth: auth as StatsAuthOptions })).rejects.toThrow(
        `StatsModule option "${option}"`,
      );
    });
  });
});
