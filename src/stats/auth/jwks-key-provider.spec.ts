import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { JwksClient, type SigningKey } from 'jwks-rsa';
import { KeySetUnavailableError } from '../errors/key-set-unavailable.error';
import { JwksKeyProvider, SigningKeyNotFoundError } from './jwks-key-provider';

/** A token of which only the header matters here: the provider picks keys, jsonwebtoken verifies. */
function token(header: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ typ: 'JWT', ...header })}.${part({ sub: 'x' })}.c2ln`;
}

/** One real public key per kid, made once, so that the provider's parsing of it is real too. */
const pems = new Map<string | undefined, string>();
function pemOf(kid: string | undefined): string {
  let pem = pems.get(kid);
  if (!pem) {
    pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    pems.set(kid, pem);
  }
  return pem;
}

function key(kid: string | undefined, alg?: string): SigningKey {
  return { kid, alg, getPublicKey: () => pemOf(kid), publicKey: pemOf(kid) } as SigningKey;
}

/** The key the provider gave is the one published under `kid`. */
const keyOf = (kid: string | undefined) => new KeyMatcher(kid);

class KeyMatcher {
  constructor(private readonly kid: string | undefined) {}
  asymmetricMatch(actual: unknown): boolean {
    return actual instanceof KeyObject && actual.equals(createPublicKey(pemOf(this.kid)));
  }
  toString(): string {
    return `the public key of ${this.kid}`;
  }
}

describe('JwksKeyProvider', () => {
  let published: SigningKey[] | Error;
  let fetches: jest.SpyInstance;
  let warnings: string[];

  const provider = (options: Partial<ConstructorParameters<typeof JwksKeyProvider>[0]> = {}) =>
    new JwksKeyProvider({ uri: 'https://idp.example.com/jwks', algorithms: ['RS256', 'ES256'], ...options });

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    published = [key('k1', 'RS256'), key('k2', 'ES256')];
    fetches = jest.spyOn(JwksClient.prototype, 'getSigningKeys').mockImplementation(async () => {
      if (published instanceof Error) throw published;
      return published;
    });
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('gives the key named by kid, fetching the key set once', async () => {
    const keys = provider();
    await expect(keys.keyFor(token({ alg: 'RS256', kid: 'k1' }))).resolves.toEqual(keyOf('k1'));
    await expect(keys.keyFor(token({ alg: 'ES256', kid: 'k2' }))).resolves.toEqual(keyOf('k2'));
    expect(fetches).toHaveBeenCalledTimes(1);
  });

  it('fetches the key set again once it is older than maxAgeMs', async () => {
    const keys = provider({ maxAgeMs: 60_000 });
    await keys.keyFor(token({ alg: 'RS256', kid: 'k1' }));
    jest.advanceTimersByTime(59_000);
    await keys.keyFor(token({ alg: 'RS256', kid: 'k1' }));
    expect(fetches).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(2000);
    published = [key('k3', 'RS256')];
    await expect(keys.keyFor(token({ alg: 'RS256', kid: 'k1' }))).rejects.toThrow(SigningKeyNotFoundError);
    expect(fetches).toHaveBeenCalledTimes(2);
  });

  it.each([
    ['alg none', { alg: 'none', kid: 'k1' }, 'not allowed'],
    ['an HMAC alg', { alg: 'HS256', kid: 'k1' }, 'not allowed'],
    ['no alg', { kid: 'k1' }, 'not allowed'],
    ['an alg that is not a string', { alg: ['RS256'], kid: 'k1' }, 'not allowed'],
  ])('refuses %s without fetching', async (_name, header, message) => {
    await expect(provider().keyFor(token(header))).rejects.toThrow(message);
    expect(fetches).not.toHaveBeenCalled();
  });

  it.each(['garbage', 'a.b.c', '', '..'])('refuses the unreadable token %j without fetching', async (raw) => {
    await expect(provider().keyFor(raw)).rejects.toThrow(SigningKeyNotFoundError);
    expect(fetches).not.toHaveBeenCalled();
  });

  it('refuses a key used with another algorithm than the one it is published for', async () => {
    await expect(provider().keyFor(token({ alg: 'ES256', kid: 'k1' }))).rejects.toThrow('published for RS256');
  });

  it('accepts any allowed algorithm for a key published without alg', async () => {
    published = [key('k1')];
    await expect(provider().keyFor(token({ alg: 'ES256', kid: 'k1' }))).resolves.toEqual(keyOf('k1'));
  });

  it('gives the only key to a token without kid, and none when there are several', async () => {
    await expect(provider().keyFor(token({ alg: 'RS256' }))).rejects.toThrow('no kid');
    published = [key('only', 'RS256')];
    await expect(provider().keyFor(token({ alg: 'RS256' }))).resolves.toEqual(keyOf('only'));
  });

  it('refetches for unknown kids within a per-minute budget, then not until it refills', async () => {
    const keys = provider({ unknownKidRefetchesPerMinute: 3 });
    await keys.keyFor(token({ alg: 'RS256', kid: 'k1' }));
    for (let index = 0; index < 10; index += 1) {
      await expect(keys.keyFor(token({ alg: 'RS256', kid: `unknown-${index}` }))).rejects.toThrow(
        SigningKeyNotFoundError,
      );
    }
    expect(fetches).toHaveBeenCalledTimes(4);
    // Known keys need no fetch, budget or not.
    await expect(keys.keyFor(token({ alg: 'ES256', kid: 'k2' }))).resolves.toEqual(keyOf('k2'));
    jest.advanceTimersByTime(61_000);
    published = [key('k4', 'RS256')];
    await expect(keys.keyFor(token({ alg: 'RS256', kid: 'k4' }))).resolves.toEqual(keyOf('k4'));
    expect(fetches).toHaveBeenCalledTimes(5);
  });

  it('skips a published key it cannot read, and keeps the others', async () => {
    published = [
      { kid: 'broken', alg: 'RS256', getPublicKey: () => 'not a key', publicKey: 'not a key' } as SigningKey,
      key('k1', 'RS256'),
    ];
    const keys = provider();
    await expect(keys.keyFor(token({ alg: 'RS256', kid: 'k1' }))).resolves.toEqual(keyOf('k1'));
    await expect(keys.keyFor(token({ alg: 'RS256', kid: 'broken' }))).rejects.toThrow(SigningKeyNotFoundError);
    expect(warnings.join('\n')).toContain('key "broken" is unreadable');
  });

  it('shares one fetch between concurrent lookups', async () => {
    const keys = provider();
    const found = await Promise.all(Array.from({ length: 20 }, () => keys.keyFor(token({ alg: 'RS256', kid: 'k1' }))));
    expect(new Set(found).size).toBe(1); // one key object, parsed once
    expect(found[0]).toEqual(keyOf('k1'));
    expect(fetches).toHaveBeenCalledTimes(1);
  });

  it('fails with KeySetUnavailableError while no key set could ever be fetched, without refetching at once', async () => {
    published = new Error('connect ECONNREFUSED');
    const keys = provider();
    const lookup = () => keys.keyFor(token({ alg: 'RS256', kid: 'k1' }));
    await expect(lookup()).rejects.toBeInstanceOf(KeySetUnavailableError);
    await expect(lookup()).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(fetches).toHaveBeenCalledTimes(1);
    const error = (await lookup().catch((thrown: unknown) => thrown)) as KeySetUnavailableError;
    expect((error.cause as Error).message).toContain('ECONNREFUSED');
    jest.advanceTimersByTime(2500);
    published = [key('k1', 'RS256')];
    await expect(lookup()).resolves.toEqual(keyOf('k1'));
  });

  it('keeps the last key set while the endpoint fails, and retries after 30 s', async () => {
    const keys = provider({ maxAgeMs: 60_000 });
    await keys.keyFor(token({ alg: 'RS256', kid: 'k1' }));
    jest.advanceTimersByTime(61_000);
    published = new Error('503 Service Unavailable');
    await expect(keys.keyFor(token({ alg: 'RS256', kid: 'k1' }))).resolves.toEqual(keyOf('k1'));
    expect(warnings.join('\n')).toContain(
      'could not be fetched (503 Service Unavailable); the last key set stays in use',
    );
    await keys.keyFor(token({ alg: 'RS256', kid: 'k1' }));
    expect(fetches).toHaveBeenCalledTimes(2);
    jest.advanceTimersByTime(31_000);
    published = [key('k1', 'RS256')];
    await keys.keyFor(token({ alg: 'RS256', kid: 'k1' }));
    expect(fetches).toHaveBeenCalledTimes(3);
  });

  it('names an attacker-chosen kid in the error only escaped', async () => {
    const error = (await provider()
      .keyFor(token({ alg: 'RS256', kid: 'x"\n\u001b[31mred' }))
      .catch((thrown: unknown) => thrown)) as Error;
    expect(error.message).toContain('"x\\"\\n\\u001b[31mred"');
  });
});
