import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sign, type Algorithm, type SignOptions } from 'jsonwebtoken';

/** A key pair made at test time, so no key material is ever committed. */
export interface TestKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
  algorithm: Algorithm;
}

export function rsaKeyPair(algorithm: Algorithm = 'RS256'): TestKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, publicPem: pem(publicKey), algorithm };
}

export function ecKeyPair(algorithm: Algorithm = 'ES256'): TestKeyPair {
  const namedCurve = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[algorithm as string];
  if (!namedCurve) throw new Error(`no curve for ${algorithm}`);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return { privateKey, publicKey, publicPem: pem(publicKey), algorithm };
}

/** Signs claims (with `sub`, and a 5-minute expiry unless `exp` is given) with the pair's private key. */
export function signWith(
  pair: TestKeyPair,
  claims: Record<string, unknown> = { roles: ['stats:read'] },
  options: SignOptions = {},
): string {
  const expiry: SignOptions = 'exp' in claims ? {} : { expiresIn: '5m' };
  return sign({ sub: 'admin-1', ...claims }, pair.privateKey, { algorithm: pair.algorithm, ...expiry, ...options });
}

/** The public key as a JWK, as an identity provider publishes it. */
export function publicJwk(pair: TestKeyPair, kid: string): Record<string, unknown> {
  return { ...pair.publicKey.export({ format: 'jwk' }), kid, alg: pair.algorithm, use: 'sig' };
}

function pem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

/** base64url of a JSON value, to hand-craft tokens that no library would sign. */
export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}
