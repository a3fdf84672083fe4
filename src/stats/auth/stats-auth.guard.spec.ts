import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InsufficientPermissionsError } from '../errors/insufficient-permissions.error';
import { KeySetUnavailableError } from '../errors/key-set-unavailable.error';
import { TokenError } from '../errors/token.error';
import type { ResolvedStatsOptions } from '../stats-options.validation';
import { RequireRoles } from './require-roles.decorator';
import { StatsAuthGuard } from './stats-auth.guard';
import type { StatsJwtStrategy } from './stats-jwt.strategy';

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token the fake strategy below "verifies": only its shape matters to the guard. */
const token = (header: object = { alg: 'HS256' }, claims: object = { sub: 'a' }) =>
  `${segment(header)}.${segment(claims)}.c2ln`;

class Handlers {
  plain() {}
  @RequireRoles('stats:admin')
  admin() {}
}

function setUp(claims: Record<string, unknown> | Error = { sub: 'admin-1', roles: ['stats:read'] }) {
  let keyVersion = 0;
  const verify = jest.fn(async () => {
    if (claims instanceof Error) throw claims;
    return { ...claims };
  });
  const strategy = { keyVersion: () => keyVersion, verify } as unknown as StatsJwtStrategy;
  const options = {
    auth: { clockToleranceSeconds: 5, requiredRoles: ['stats:read'], rolesClaim: 'roles' },
  } as unknown as ResolvedStatsOptions;
  const guard = new StatsAuthGuard(new Reflector(), strategy, options);
  const check = (authorization?: string, handler: keyof Handlers = 'plain') => {
    const request = {
      method: 'GET',
      url: '/stats/active-sessions/dashboard?x=1',
      headers: authorization === undefined ? {} : { authorization },
    } as { user?: Record<string, unknown> };
    const context = {
      switchToHttp: () => ({ getRequest: () => request }),
      getHandler: () => Handlers.prototype[handler],
      getClass: () => Handlers,
    } as unknown as ExecutionContext;
    return guard.canActivate(context).then((admitted) => ({ admitted, request }));
  };
  return { check, verify, rotateKeys: () => keyVersion++ };
}

/** The error a refused check throws. */
const refusal = (checking: Promise<unknown>) =>
  checking.then(
    () => Promise.reject(new Error('admitted')),
    (error: unknown) => error,
  );

describe('StatsAuthGuard', () => {
  it('admits a verified token holding the required role, with its claims on request.user', async () => {
    const { check } = setUp();
    const { admitted, request } = await check(`Bearer ${token()}`);
    expect(admitted).toBe(true);
    expect(request.user).toEqual({ sub: 'admin-1', roles: ['stats:read'] });
  });

  it('asks for a token without naming an error when none is given, and verifies nothing', async () => {
    const { check, verify } = setUp();
    const error = await refusal(check());
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).headers['WWW-Authenticate']).toBe('Bearer');
    expect(verify).not.toHaveBeenCalled();
  });

  it('refuses a token with a crit header or a claims set that is not an object before verifying it', async () => {
    const { check, verify } = setUp();
    for (const bad of [
      token({ alg: 'HS256', crit: ['exp'] }),
      `${segment({ alg: 'HS256' })}.${segment([{ sub: 'a' }])}.c2ln`,
    ]) {
      const error = await refusal(check(`Bearer ${bad}`));
      expect(error).toBeInstanceOf(TokenError);
      expect((error as TokenError).headers['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
    }
    expect(verify).not.toHaveBeenCalled();
  });

  it('refuses a token that does not verify with 401, and passes an unreachable key set on as 503', async () => {
    expect(await refusal(setUp(new Error('invalid signature')).check(`Bearer ${token()}`))).toBeInstanceOf(TokenError);
    expect(await refusal(setUp(new KeySetUnavailableError()).check(`Bearer ${token()}`))).toBeInstanceOf(
      KeySetUnavailableError,
    );
  });

  it('verifies a polling token once, again after the keys changed, and hands out copies of its claims', async () => {
    const { check, verify, rotateKeys } = setUp();
    const first = await check(`Bearer ${token()}`);
    first.request.user!.roles = ['changed by a handler'];
    const second = await check(`Bearer ${token()}`);
    expect(second.request.user).toEqual({ sub: 'admin-1', roles: ['stats:read'] });
    expect(verify).toHaveBeenCalledTimes(1);
    rotateKeys();
    await check(`Bearer ${token()}`);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('refuses a token without the required role with 403, and reads the roles RequireRoles asks for', async () => {
    const reader = setUp({ sub: 'reader', roles: ['stats:read'] });
    expect(await refusal(reader.check(`Bearer ${token()}`, 'admin'))).toBeInstanceOf(InsufficientPermissionsError);
    const admin = setUp({ sub: 'admin', roles: ['stats:admin'] });
    expect((await admin.check(`Bearer ${token()}`, 'admin')).admitted).toBe(true);
    expect(await refusal(admin.check(`Bearer ${token()}`, 'plain'))).toBeInstanceOf(InsufficientPermissionsError);
  });
});
