import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import { StatsConfigurationError, StatsModule, type StatsModuleOptions } from '../src/stats';
import { DEFAULT_OPTIONS } from './support/stats-app';

/**
 * Configuration mistakes through the module's API, as a host meets them: forRoot's and forRootAsync's
 * options refused at start-up with a StatsConfigurationError that names the option.
 */

/** The error a module import (or its compilation) fails with. */
async function startupError(imports: () => unknown): Promise<StatsConfigurationError> {
  let thrown: unknown;
  try {
    await Test.createTestingModule({ imports: [imports() as never] }).compile();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StatsConfigurationError);
  return thrown as StatsConfigurationError;
}

const forRoot = (options: unknown) => () => StatsModule.forRoot(options as StatsModuleOptions);

describe('StatsModule options at start-up', () => {
  it('refuses sessions.ttlSecond, which used to take the default, with the option it means', async () => {
    const error = await startupError(forRoot({ ...DEFAULT_OPTIONS, sessions: { ttlSecond: 60 } }));
    expect(error.option).toBe('sessions.ttlSecond');
    expect(error.message).toBe(
      'StatsModule option "sessions.ttlSecond" is unknown; did you mean "sessions.ttlSeconds"?',
    );
  });

  it.each([
    ['versionPolicies', '"versionPolicy"', { ...DEFAULT_OPTIONS, versionPolicies: DEFAULT_OPTIONS.versionPolicy }],
    [
      'auth.requiredRole',
      '"auth.requiredRoles"',
      { ...DEFAULT_OPTIONS, auth: { ...DEFAULT_OPTIONS.auth, requiredRole: ['ops'] } },
    ],
    [
      'sessions.redis.keyprefix',
      '"sessions.redis.keyPrefix"',
      { ...DEFAULT_OPTIONS, sessions: { redis: { url: 'redis://127.0.0.1', keyprefix: 'a:' } } },
    ],
    [
      'versionPolicy.partal',
      '"versionPolicy.partial"',
      { ...DEFAULT_OPTIONS, versionPolicy: { full: '>=6', partal: '>=5' } },
    ],
    [
      'tracking.sessionIdclaim',
      '"tracking.sessionIdClaim"',
      { ...DEFAULT_OPTIONS, tracking: { sessionIdclaim: undefined } },
    ],
  ])('refuses an unknown option at every level: %s, suggesting %s', async (option, suggestion, options) => {
    const error = await startupError(forRoot(options));
    expect(error.option).toBe(option);
    expect(error.message).toContain(`did you mean ${suggestion}?`);
  });

  it('refuses a key prefix with braces, which would share the keys of another prefix', async () => {
    const error = await startupError(
      forRoot({
        ...DEFAULT_OPTIONS,
        sessions: { redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'app:iso:{store}:' } },
      }),
    );
    expect(error.option).toBe('sessions.redis.keyPrefix');
    expect(error.message).toContain('must not contain "{" or "}"');
  });

  it.each([
    ['an object that is no client', { host: '127.0.0.1', port: 6379 }, 'got an object without isCluster, status'],
    ['a Promise of a client', Promise.resolve({}), 'await the client first'],
  ])('refuses %s as sessions.redis.client', async (_name, client, problem) => {
    const error = await startupError(forRoot({ ...DEFAULT_OPTIONS, sessions: { redis: { client } } }));
    expect(error.option).toBe('sessions.redis.client');
    expect(error.message).toContain('must be an ioredis Redis or Cluster instance');
    expect(error.message).toContain(problem);
  });

  it("starts with a client of the host's own copy of ioredis", async () => {
    let HostRedis: typeof Redis | undefined;
    jest.isolateModules(() => {
      HostRedis = (require('ioredis') as typeof import('ioredis')).Redis;
    });
    const client = new HostRedis!({ lazyConnect: true });
    expect(client).not.toBeInstanceOf(Redis);
    const moduleRef = await Test.createTestingModule({
      imports: [StatsModule.forRoot({ ...DEFAULT_OPTIONS, sessions: { redis: { client } } })],
    }).compile();
    await moduleRef.close();
    client.disconnect();
  });

  describe('forRootAsync', () => {
    const forRootAsync = (options: unknown) => () => StatsModule.forRootAsync(options as never);

    it('without a factory', async () => {
      const error = await startupError(forRootAsync({ imports: [] }));
      expect(error.option).toBe('forRootAsync');
      expect(error.message).toBe(
        'StatsModule option "forRootAsync" needs one of "useFactory", "useClass" or "useExisting"',
      );
    });

    it.each([undefined, null, 'options'])('with options that are not an object (%p)', async (options) => {
      expect((await startupError(forRootAsync(options))).option).toBe('forRootAsync');
    });

    it('with a misspelt option, naming the one it means', async () => {
      const error = await startupError(forRootAsync({ useFactroy: () => DEFAULT_OPTIONS }));
      expect(error.message).toBe(
        'StatsModule option "forRootAsync.useFactroy" is unknown; did you mean "forRootAsync.useFactory"?',
      );
    });

    it('with two factories', async () => {
      class Options {
        createStatsOptions() {
          return DEFAULT_OPTIONS;
        }
      }
      const error = await startupError(forRootAsync({ useFactory: () => DEFAULT_OPTIONS, useClass: Options }));
      expect(error.option).toBe('forRootAsync.useClass');
      expect(error.message).toContain('conflicts with forRootAsync.useFactory');
    });

    it.each([
      [{ useFactory: DEFAULT_OPTIONS }, 'forRootAsync.useFactory', 'must be a function'],
      [{ useClass: 'OptionsFactory' }, 'forRootAsync.useClass', 'must be a class'],
      [{ useFactory: () => DEFAULT_OPTIONS, inject: 'ConfigService' }, 'forRootAsync.inject', 'must be a list'],
    ])('with a factory of the wrong kind (%#)', async (options, option, problem) => {
      const error = await startupError(forRootAsync(options));
      expect(error.option).toBe(option);
      expect(error.message).toContain(problem);
    });

    it('with a useClass that has no createStatsOptions()', async () => {
      @Injectable()
      class NotAFactory {}
      const error = await startupError(forRootAsync({ useClass: NotAFactory }));
      expect(error.option).toBe('forRootAsync.useClass');
      expect(error.message).toContain('(NotAFactory) must have a createStatsOptions() method');
    });

    it("with a factory's options that are wrong, naming the option", async () => {
      const error = await startupError(
        forRootAsync({ useFactory: async () => ({ ...DEFAULT_OPTIONS, sessions: { ttlSecond: 5 } }) }),
      );
      expect(error.option).toBe('sessions.ttlSecond');
    });

    it('starts with useExisting, the factory provided by an imported module', async () => {
      @Injectable()
      class OptionsFactory {
        createStatsOptions() {
          return DEFAULT_OPTIONS;
        }
      }
      @Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
      class OptionsModule {}
      const moduleRef = await Test.createTestingModule({
        imports: [StatsModule.forRootAsync({ imports: [OptionsModule], useExisting: OptionsFactory })],
      }).compile();
      await moduleRef.close();
    });
  });
});
