import { claimAt, rolesHeld } from './roles';

describe('claimAt', () => {
  const claims = {
    roles: ['a'],
    realm_access: { roles: ['b'], nested: { deeper: 'c' } },
    'https://example.com/roles': ['d'],
    list: [{ roles: ['e'] }],
  };

  it.each([
    ['roles', ['a']],
    ['realm_access.roles', ['b']],
    ['realm_access.nested.deeper', 'c'],
    ['https://example.com/roles', ['d']],
  ])('reads %s', (path, value) => {
    expect(claimAt(claims, path)).toEqual(value);
  });

  it.each([
    'missing',
    'realm_access.missing',
    'roles.0',
    'list.0.roles',
    'realm_access.roles.length',
    'realm_access..roles',
    '',
  ])('finds nothing at %j', (path) => {
    expect(claimAt(claims, path)).toBeUndefined();
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__proto__.roles', 'constructor.name'])(
    'never reads inherited properties (%s)',
    (path) => {
      expect(claimAt({}, path)).toBeUndefined();
      expect(claimAt(Object.create({ roles: ['x'] }), 'roles')).toBeUndefined();
    },
  );

  it('reads a "__proto__" claim of parsed JSON as the own property it is', () => {
    const parsed = JSON.parse('{"__proto__":{"roles":["x"]}}');
    expect(claimAt(parsed, 'roles')).toBeUndefined();
    expect(claimAt(parsed, '__proto__.roles')).toEqual(['x']);
  });

  it.each([null, undefined, 'roles', 42, true])('finds nothing in claims that are not an object (%p)', (value) => {
    expect(claimAt(value, 'roles')).toBeUndefined();
  });
});

describe('rolesHeld', () => {
  it.each([
    ['a list', { roles: ['stats:read', 'ops'] }, ['stats:read', 'ops']],
    ['a space-separated string', { roles: 'stats:read  ops\tadmin\n' }, ['stats:read', 'ops', 'admin']],
    ['a single role as a string', { roles: 'stats:read' }, ['stats:read']],
    ['a list with non-strings', { roles: ['stats:read', 1, null, {}, ['ops'], true] }, ['stats:read']],
    ['an empty string', { roles: '' }, []],
    ['an empty list', { roles: [] }, []],
    ['a number', { roles: 7 }, []],
    ['an object', { roles: { 'stats:read': true } }, []],
    ['null', { roles: null }, []],
    ['no claim', {}, []],
  ])('reads roles given as %s', (_name, claims, roles) => {
    expect([...rolesHeld(claims, 'roles')]).toEqual(roles);
  });

  it('matches roles exactly: case and punctuation count', () => {
    const held = rolesHeld({ roles: 'STATS:READ stats:read, stats:reader' }, 'roles');
    expect(held.has('stats:read')).toBe(false);
    expect(held.has('STATS:READ')).toBe(true);
  });

  it('reads a nested claim', () => {
    expect([...rolesHeld({ realm_access: { roles: ['stats:read'] } }, 'realm_access.roles')]).toEqual(['stats:read']);
  });
});
