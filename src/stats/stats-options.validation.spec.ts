import { generateKeyPairSync } from 'node:crypto';
import Redis, { Cluster } from 'ioredis';
import { StatsConfigurationError } from './errors/stats-configuration.error';
import type { StatsModuleOptions } from './stats-options.interface';
import { resolveStatsOptions } from './stats-options.validation';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const VERSION_POLICY = { full: '>=6.0.0', partial: '>=5.5.0 <6.0.0' };

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
const pem = (pair: { publicKey: import('node:crypto').KeyObject }) =>
  pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const RSA_PEM = pem(rsa);
const EC_PEM = (curve: string) => pem(generateKeyPairSync('ec', { namedCurve: curve }));

function options(
  overrides: Record<string, unknown> = {},
  auth: Record<string, unknown> = { secret: SECRET },
): StatsModuleOptions {
  return { auth, versionPolicy: VERSION_POLICY, ...overrides } as StatsModuleOptions;
}

/** The error resolving `input` throws: a StatsConfigurationError naming `option` in its message. */
function failure(input: unknown, option: string): StatsConfigurationError {
  let thrown: unknown;
  try {
    resolveStatsOptions(input as StatsModuleOptions);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StatsConfigurationError);
  const error = thrown as StatsConfigurationError;
  expect(error.option).toBe(option);
  expect(error.message).toContain(`StatsModule option "${option}"`);
  return error;
}

describe('resolveStatsOptions', () => {
  describe('defaults', () => {
    it('fills in every default for a secret', () => {
      const resolved = resolveStatsOptions(options());
      expect(resolved.auth).toEqual({
        key: { kind: 'secret', secret: SECRET },
        algorithms: ['HS256', 'HS384', 'HS512'],
        issuer: undefined,
        audience: undefined,
        rolesClaim: 'roles',
        requiredRoles: ['stats:read'],
        clockToleranceSeconds: 5,
      });
      expect(resolved.acceptedMediaTypes).toEqual(['application/json']);
      expect(resolved.sessions).toMatchObject({ ttlSeconds: 300, sourceTimeoutMs: 10_000, sources: [] });
      expect(resolved.tracking).toEqual({
        userProperty: 'user',
        sessionIdClaim: 'sid',
        clientVersionHeader: 'x-client-version',
      });
      expect(resolved.versionPolicy).toEqual(VERSION_POLICY);
    });

    it('allows only RSA algorithms, never HMAC or none, for an RSA public key', () => {
      const { auth } = resolveStatsOptions(options({}, { publicKey: RSA_PEM }));
      expect(auth.key.kind).toBe('publicKey');
      expect(auth.algorithms).toEqual(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
    });

    it('allows only PS algorithms for an RSA-PSS public key', () => {
      expect(resolveStatsOptions(options({}, { publicKey: pem(rsaPss) })).auth.algorithms).toEqual([
        'PS256',
        'PS384',
        'PS512',
      ]);
    });

    it.each([
      ['prime256v1', 'ES256'],
      ['secp384r1', 'ES384'],
      ['secp521r1', 'ES512'],
    ])('allows exactly the algorithm of an EC key on %s (%s)', (curve, algorithm) => {
      expect(resolveStatsOptions(options({}, { publicKey: EC_PEM(curve) })).auth.algorithms).toEqual([algorithm]);
    });

    it('allows RSA and EC algorithms, never HMAC or none, for a JWKS endpoint', () => {
      const { auth } = resolveStatsOptions(options({}, { jwksUri: 'https://idp.example.com/.well-known/jwks.json' }));
      expect(auth.key).toEqual({ kind: 'jwks', uri: 'https://idp.example.com/.well-known/jwks.json' });
      expect(auth.algorithms).toEqual([
        'RS256',
        'RS384',
        'RS512',
        'PS256',
        'PS384',
        'PS512',
        'ES256',
        'ES384',
        'ES512',
      ]);
    });

    it('keeps a narrower algorithm list, issuer, audience list, roles and tolerance as given', () => {
      const { auth } = resolveStatsOptions(
        options(
          {},
          {
            publicKey: RSA_PEM,
            algorithms: ['RS256'],
            issuer: ' https://idp.example.com/ ',
            audience: ['a', 'b'],
            rolesClaim: 'realm_access.roles',
            requiredRoles: ['stats:read', 'ops'],
            clockToleranceSeconds: 0,
          },
        ),
      );
      expect(auth).toMatchObject({
        algorithms: ['RS256'],
        issuer: 'https://idp.example.com/',
        audience: ['a', 'b'],
        rolesClaim: 'realm_access.roles',
        requiredRoles: ['stats:read', 'ops'],
        clockToleranceSeconds: 0,
      });
    });

    it('adds acceptedMediaTypes after application/json, in lower case', () => {
      const resolved = resolveStatsOptions(options({ acceptedMediaTypes: ['application/VND.example.stats-v1+json'] }));
      expect(resolved.acceptedMediaTypes).toEqual(['application/json', 'application/vnd.example.stats-v1+json']);
    });

    it('trims the version ranges', () => {
      expect(resolveStatsOptions(options({ versionPolicy: { full: ' >=6 ', partial: '5.x' } })).versionPolicy).toEqual({
        full: '>=6',
        partial: '5.x',
      });
    });
  });

  describe('fails at start-up, naming the option', () => {
    it.each([undefined, null, 'options', 42])('for options that are not an object (%p)', (input) => {
      failure(input, '(root)');
    });

    it.each([undefined, null, 'secret'])('for a missing auth (%p)', (auth) => {
      failure({ auth, versionPolicy: VERSION_POLICY }, 'auth');
    });

    it.each([{}, { secret: '' }, { secret: null, publicKey: '', jwksUri: undefined }, { issuer: 'x' }])(
      'for no key material (%j)',
      (auth) => {
        expect(failure(options({}, auth), 'auth').message).toMatch(/auth\.secret, auth\.publicKey or auth\.jwksUri/);
      },
    );

    it.each([
      [{ secret: SECRET, publicKey: RSA_PEM }, 'auth.publicKey', 'auth.secret'],
      [{ secret: SECRET, jwksUri: 'https://idp.example.com/jwks' }, 'auth.jwksUri', 'auth.secret'],
      [{ publicKey: RSA_PEM, jwksUri: 'https://idp.example.com/jwks' }, 'auth.jwksUri', 'auth.publicKey'],
      [
        { secret: SECRET, publicKey: RSA_PEM, jwksUri: 'https://idp.example.com/jwks' },
        'auth.publicKey',
        'auth.secret',
      ],
    ])('for two conflicting kinds of key (%#)', (auth, option, other) => {
      expect(failure(options({}, auth), option).message).toContain(`conflicts with ${other}`);
    });

    it.each([['too-short'], [42], [{ secret: SECRET }]])(
      'for a secret that is short or not a string (%p)',
      (secret) => {
        expect(failure(options({}, { secret }), 'auth.secret').message).toContain('at least 32 characters');
      },
    );

    it.each([
      ['garbage', 'not a pem'],
      ['a truncated PEM', RSA_PEM.slice(0, 120)],
      [
        'a PEM with a corrupted body',
        RSA_PEM.replace(/[A-Za-z]/g, (c) => (c === 'A' ? 'B' : 'A')).replace(/-----[A-Z ]+-----/g, (m) =>
          m.toUpperCase(),
        ),
      ],
      ['a number', 12345],
    ])('for an unreadable PEM (%s)', (_name, publicKey) => {
      expect(failure(options({}, { publicKey }), 'auth.publicKey').message).toContain('not a readable PEM public key');
    });

    it('for a private key given as the public key', () => {
      const privatePem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      expect(failure(options({}, { publicKey: privatePem }), 'auth.publicKey').message).toContain('is a private key');
    });

    it('for a key of a kind JWT verification here does not support (Ed25519)', () => {
      const ed = pem(generateKeyPairSync('ed25519'));
      expect(failure(options({}, { publicKey: ed }), 'auth.publicKey').message).toContain('ed25519');
    });

    it('for an EC key on a curve JWT does not define', () => {
      expect(failure(options({}, { publicKey: EC_PEM('secp256k1') }), 'auth.publicKey').message).toContain('secp256k1');
    });

    it.each([['not a url'], ['ftp://idp.example.com/jwks'], ['file:///etc/jwks.json']])(
      'for a bad jwksUri (%s)',
      (jwksUri) => {
        failure(options({}, { jwksUri }), 'auth.jwksUri');
      },
    );

    it.each([
      [{ secret: SECRET, algorithms: [] }, 'non-empty list'],
      [{ secret: SECRET, algorithms: 'HS256' }, 'non-empty list'],
      [{ secret: SECRET, algorithms: ['none'] }, '"none"'],
      [{ secret: SECRET, algorithms: ['HS256', 'RS256'] }, '"RS256"'],
      [{ publicKey: RSA_PEM, algorithms: ['HS256'] }, '"HS256"'],
      [{ publicKey: RSA_PEM, algorithms: ['ES256'] }, '"ES256"'],
      [{ publicKey: EC_PEM('prime256v1'), algorithms: ['ES384'] }, '"ES384"'],
      [{ jwksUri: 'https://idp.example.com/jwks', algorithms: ['HS256'] }, '"HS256"'],
      [{ jwksUri: 'https://idp.example.com/jwks', algorithms: ['none'] }, '"none"'],
    ])('for algorithms the key cannot verify (%#)', (auth, problem) => {
      expect(failure(options({}, auth), 'auth.algorithms').message).toContain(problem);
    });

    it.each([[[]], [['']], [['  ']], [[42]], ['stats:read'], [null]])(
      'for an empty or malformed role list (%j)',
      (requiredRoles) => {
        failure(options({}, { secret: SECRET, requiredRoles }), 'auth.requiredRoles');
      },
    );

    it.each([[''], [[]], [['']], [42], [['a', 1]]])('for a malformed audience (%j)', (audience) => {
      failure(options({}, { secret: SECRET, audience }), 'auth.audience');
    });

    it.each([[-1], [301], [Number.NaN], [Infinity], ['5']])(
      'for a clock tolerance out of range (%p)',
      (clockToleranceSeconds) => {
        failure(options({}, { secret: SECRET, clockToleranceSeconds }), 'auth.clockToleranceSeconds');
      },
    );

    it.each([[''], ['  '], [42]])('for an empty issuer (%j)', (issuer) => {
      failure(options({}, { secret: SECRET, issuer }), 'auth.issuer');
    });

    it.each([[''], [' '], [['roles']]])('for an empty rolesClaim (%j)', (rolesClaim) => {
      failure(options({}, { secret: SECRET, rolesClaim }), 'auth.rolesClaim');
    });

    it.each([
      ['requiredRole', 'is unknown; did you mean "auth.requiredRoles"?'],
      [
        'roles',
        'is unknown; the options of auth are secret, publicKey, jwksUri, issuer, audience, algorithms, rolesClaim, requiredRoles, clockToleranceSeconds',
      ],
      ['algorithm', 'is unknown; did you mean "auth.algorithms"?'],
      ['jwks_uri', 'is unknown; did you mean "auth.jwksUri"?'],
    ])('for an auth option that does not exist (%s)', (name, problem) => {
      expect(failure(options({}, { secret: SECRET, [name]: ['x'] }), `auth.${name}`).message).toBe(
        `StatsModule option "auth.${name}" ${problem}`,
      );
    });

    it.each([undefined, null, 'latest'])('for a missing versionPolicy (%p)', (versionPolicy) => {
      failure(options({ versionPolicy }), 'versionPolicy');
    });

    it.each([
      [{ partial: '>=5' }, 'versionPolicy.full'],
      [{ full: '', partial: '>=5' }, 'versionPolicy.full'],
      [{ full: 'newest', partial: '>=5' }, 'versionPolicy.full'],
      [{ full: 6, partial: '>=5' }, 'versionPolicy.full'],
      [{ full: '>=6' }, 'versionPolicy.partial'],
      [{ full: '>=6', partial: '  ' }, 'versionPolicy.partial'],
      [{ full: '>=6', partial: '>=5 <<6' }, 'versionPolicy.partial'],
    ])('for a version range that is not semver (%j)', (versionPolicy, option) => {
      expect(failure(options({ versionPolicy }), option).message).toContain('semver range');
    });

    it.each([
      ['application/json', 'a string'],
      [['application/*'], 'a wildcard'],
      [['*/*'], 'a wildcard'],
      [['json'], 'no subtype'],
      [['application/json; charset=utf-8'], 'parameters'],
      [[42], 'a number'],
    ])('for acceptedMediaTypes that are not media types (%j, %s)', (acceptedMediaTypes, _problem) => {
      failure(options({ acceptedMediaTypes }), 'acceptedMediaTypes');
    });

    it.each([
      [{ sessions: 'memory' }, 'sessions'],
      [{ sessions: { ttlSeconds: 0 } }, 'sessions.ttlSeconds'],
      [{ sessions: { ttlSeconds: 1.5 } }, 'sessions.ttlSeconds'],
      [{ sessions: { ttlSeconds: 86_400 * 31 } }, 'sessions.ttlSeconds'],
      [{ sessions: { sourceTimeoutMs: 0 } }, 'sessions.sourceTimeoutMs'],
      [{ sessions: { sources: {} } }, 'sessions.sources'],
      [{ sessions: { sources: [{ listActiveSessions: async () => [] }, {}] } }, 'sessions.sources[1]'],
      [{ sessions: { store: {} } }, 'sessions.store'],
      [{ sessions: { redis: 'redis://localhost' } }, 'sessions.redis'],
      [{ sessions: { redis: {} } }, 'sessions.redis'],
      [{ sessions: { redis: { url: 'redis://localhost', client: {} } } }, 'sessions.redis'],
      [{ sessions: { redis: { url: 'http://localhost:6379' } } }, 'sessions.redis.url'],
      [{ sessions: { redis: { url: 'not a url' } } }, 'sessions.redis.url'],
      [{ sessions: { redis: { url: 'redis://localhost', commandTimeoutMs: -1 } } }, 'sessions.redis.commandTimeoutMs'],
      [{ sessions: { redis: { url: 'redis://localhost', keyPrefix: '' } } }, 'sessions.redis.keyPrefix'],
      [{ tracking: { userProperty: '' } }, 'tracking.userProperty'],
      [{ tracking: { sessionIdClaim: 7 } }, 'tracking.sessionIdClaim'],
      [{ tracking: { clientVersionHeader: ' ' } }, 'tracking.clientVersionHeader'],
    ])('for other options (%j)', (overrides, option) => {
      failure(options(overrides), option);
    });
  });

  describe('refuses unknown options at every level, with the nearest valid name', () => {
    it('for sessions.ttlSecond, which would otherwise take the default', () => {
      const error = failure(options({ sessions: { ttlSecond: 60 } }), 'sessions.ttlSecond');
      expect(error.message).toBe(
        'StatsModule option "sessions.ttlSecond" is unknown; did you mean "sessions.ttlSeconds"?',
      );
      expect(error.problem).toBe('is unknown; did you mean "sessions.ttlSeconds"?');
    });

    it.each([
      [{ versionPolicies: VERSION_POLICY }, 'versionPolicies', 'did you mean "versionPolicy"?'],
      [{ acceptedMediaType: [] }, 'acceptedMediaType', 'did you mean "acceptedMediaTypes"?'],
      [{ ttlSeconds: 60 }, 'ttlSeconds', 'did you mean "sessions.ttlSeconds"?'],
      [{ logger: 'debug' }, 'logger', 'the options are auth, sessions, versionPolicy, acceptedMediaTypes, tracking'],
      [{ sessions: { sourcesTimeoutMs: 5 } }, 'sessions.sourcesTimeoutMs', 'did you mean "sessions.sourceTimeoutMs"?'],
      [{ sessions: { keyPrefix: 'app:' } }, 'sessions.keyPrefix', 'did you mean "sessions.redis.keyPrefix"?'],
      [
        { sessions: { memory: true } },
        'sessions.memory',
        'the options of sessions are ttlSeconds, sources, sourceTimeoutMs, redis, store',
      ],
      [
        { sessions: { redis: { url: 'redis://localhost', keyprefix: 'app:' } } },
        'sessions.redis.keyprefix',
        'did you mean "sessions.redis.keyPrefix"?',
      ],
      [
        { sessions: { redis: { url: 'redis://localhost', commandTimeout: 5 } } },
        'sessions.redis.commandTimeout',
        'did you mean "sessions.redis.commandTimeoutMs"?',
      ],
      [
        { sessions: { redis: { uri: 'redis://localhost' } } },
        'sessions.redis.uri',
        'did you mean "sessions.redis.url"?',
      ],
      [
        { sessions: { redis: { url: 'redis://localhost', host: 'localhost' } } },
        'sessions.redis.host',
        'the options of sessions.redis are url, client, keyPrefix, shards, waitForReplicas, commandTimeoutMs',
      ],
      [
        { versionPolicy: { ...VERSION_POLICY, none: '<5' } },
        'versionPolicy.none',
        'the options of versionPolicy are full, partial',
      ],
      [
        { versionPolicy: { full: '>=6', partal: '>=5' } },
        'versionPolicy.partal',
        'did you mean "versionPolicy.partial"?',
      ],
      [{ tracking: { sessionClaim: 'sid' } }, 'tracking.sessionClaim', 'did you mean "tracking.sessionIdClaim"?'],
      [
        { tracking: { versionHeader: 'X-Version' } },
        'tracking.versionHeader',
        'the options of tracking are userProperty, sessionIdClaim, clientVersionHeader',
      ],
    ])('%j: %s', (overrides, option, suggestion) => {
      expect(failure(options(overrides), option).message).toBe(
        `StatsModule option "${option}" is unknown; ${suggestion}`,
      );
    });

    it('before anything else is checked, so a misspelt section is named rather than called missing', () => {
      failure({ auth: { secret: SECRET }, versionPolicies: VERSION_POLICY }, 'versionPolicies');
    });

    it.each([
      ['sessions.ttlSecond', { sessions: { ttlSecond: undefined } }],
      ['auth.requiredRole', { auth: { secret: SECRET, requiredRole: undefined } }],
      ['tracking.sessionIdclaim', { tracking: { sessionIdclaim: undefined } }],
    ])(
      '%s even when its value is undefined: the key is the same typo whether or not its variable is set',
      (option, overrides) => {
        failure(options(overrides), option);
      },
    );

    it.each([
      [{ sessions: [] }, 'sessions'],
      [{ tracking: ['user'] }, 'tracking'],
      [{ tracking: null }, 'tracking'],
      [{ tracking: 'user' }, 'tracking'],
      [{ versionPolicy: ['>=6', '>=5'] }, 'versionPolicy'],
      [{ sessions: { redis: ['redis://localhost'] } }, 'sessions.redis'],
    ])('and sections that are not objects (%j)', (overrides, option) => {
      failure(options(overrides), option);
    });

    it('does not look into what belongs to the host: sources, a store', () => {
      class GatewaySessions {
        readonly name = 'gateway';
        readonly pollIntervalMs = 1000;
        async listActiveSessions() {
          return [];
        }
      }
      const store = { upsert: async () => undefined, anything: 1, ttlSecond: 5 };
      const resolved = resolveStatsOptions(
        options({ sessions: { sources: [new GatewaySessions()], store: store as never } }),
      );
      expect(resolved.sessions.sources[0]).toBeInstanceOf(GatewaySessions);
      expect(resolved.sessions.store).toBe(store);
    });
  });

  describe('sessions.redis.waitForReplicas', () => {
    it('defaults to 0 and takes a whole number from 0 to 16', () => {
      const redis = (waitForReplicas?: unknown) => ({
        sessions: { redis: { url: 'redis://localhost', waitForReplicas } },
      });
      expect(resolveStatsOptions(options(redis())).sessions.redis!.waitForReplicas).toBe(0);
      expect(resolveStatsOptions(options(redis(1))).sessions.redis!.waitForReplicas).toBe(1);
    });

    it.each([[-1], [0.5], [17], ['1']])('refuses %p at start-up, naming the option', (waitForReplicas) => {
      const error = failure(
        options({ sessions: { redis: { url: 'redis://localhost', waitForReplicas } } }),
        'sessions.redis.waitForReplicas',
      );
      expect(error.message).toContain('must be a whole number from 0 to 16');
    });
  });

  describe('sessions.redis.shards', () => {
    it('defaults to 16 and takes a whole number from 1 to 1024', () => {
      const redis = (shards?: unknown) => ({ sessions: { redis: { url: 'redis://localhost', shards } } });
      expect(resolveStatsOptions(options(redis())).sessions.redis!.shards).toBe(16);
      expect(resolveStatsOptions(options(redis(1))).sessions.redis!.shards).toBe(1);
      expect(resolveStatsOptions(options(redis(1024))).sessions.redis!.shards).toBe(1024);
    });

    it.each([[0], [1.5], [1025], ['16'], [-1], [Number.NaN]])('refuses %p at start-up, naming the option', (shards) => {
      const error = failure(
        options({ sessions: { redis: { url: 'redis://localhost', shards } } }),
        'sessions.redis.shards',
      );
      expect(error.message).toContain('must be a whole number from 1 to 1024');
    });
  });

  describe('sessions.redis.keyPrefix', () => {
    const redis = (keyPrefix: unknown) => options({ sessions: { redis: { url: 'redis://localhost', keyPrefix } } });

    it('is used exactly as given, and defaults to stats:sessions:', () => {
      expect(resolveStatsOptions(redis('app:iso:')).sessions.redis?.keyPrefix).toBe('app:iso:');
      expect(resolveStatsOptions(redis(undefined)).sessions.redis?.keyPrefix).toBe('stats:sessions:');
    });

    it.each(['app:iso:{store}:', 'app:{tenant}:', '{app}', 'app:}', 'app:{'])(
      'refuses %p at start-up: braces could name the keys of another prefix',
      (keyPrefix) => {
        const error = failure(redis(keyPrefix), 'sessions.redis.keyPrefix');
        expect(error.message).toContain('must not contain "{" or "}"');
        expect(error.message).toContain('<keyPrefix>{<shard tag>}:');
      },
    );

    it.each([' app:', 'app: ', '\tapp:'])(
      'refuses %j, whose whitespace would be taken for another prefix',
      (keyPrefix) => {
        expect(failure(redis(keyPrefix), 'sessions.redis.keyPrefix').message).toContain('whitespace');
      },
    );
  });

  describe('sessions.redis.client', () => {
    const withClient = (client: unknown) => options({ sessions: { redis: { client } } });

    it.each([
      ['an empty object', {}, 'got an object without isCluster, status, defineCommand, hmget, ping, on, once'],
      [
        'an object with only the methods of an older check',
        { defineCommand() {}, hmget() {} },
        'without isCluster, status, ping, on, once',
      ],
      [
        'a Promise of a client',
        Promise.resolve(new Redis({ lazyConnect: true })),
        'got a Promise: await the client first',
      ],
      ['the class itself', Redis, 'got a function or class, not an instance'],
      ['a URL string', 'redis://localhost:6379', 'got string'],
      ['null', null, 'got null'],
      ['an ioredis pipeline', new Redis({ lazyConnect: true }).pipeline(), 'got a Pipeline without status'],
    ])('refuses %s, naming the option', (_name, client, problem) => {
      const error = failure(withClient(client), 'sessions.redis.client');
      expect(error.message).toContain('must be an ioredis Redis or Cluster instance');
      expect(error.message).toContain(problem);
    });

    it('accepts an ioredis Redis and an ioredis Cluster', () => {
      const redis = new Redis({ lazyConnect: true });
      const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
      expect(resolveStatsOptions(withClient(redis)).sessions.redis?.client).toBe(redis);
      expect(resolveStatsOptions(withClient(cluster)).sessions.redis?.client).toBe(cluster);
    });

    it("accepts a client of the host's own copy of ioredis, whose classes are not the module's", () => {
      let OtherRedis: typeof Redis | undefined;
      jest.isolateModules(() => {
        OtherRedis = (require('ioredis') as typeof import('ioredis')).Redis;
      });
      const client = new OtherRedis!({ lazyConnect: true });
      expect(client).not.toBeInstanceOf(Redis);
      expect(resolveStatsOptions(withClient(client)).sessions.redis?.client).toBe(client);
    });
  });
});
