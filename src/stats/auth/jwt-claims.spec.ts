import { unacceptableTokenReason } from './jwt-claims';

const segment = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const token = (header: unknown, claims: unknown) => `${segment(header)}.${segment(claims)}.c2ln`;

describe('unacceptableTokenReason', () => {
  it('accepts a JSON object of claims under a header without crit', () => {
    expect(unacceptableTokenReason(token({ alg: 'HS256', typ: 'JWT' }, { sub: 'a', roles: [] }))).toBeNull();
  });

  it.each([[['exp']], [['b64']], [[]], ['exp']])('refuses a crit header naming %j', (crit) => {
    expect(unacceptableTokenReason(token({ alg: 'HS256', crit, exp: 1 }, { sub: 'a' }))).toMatch(
      /^the token's "crit" header names extensions this module does not understand/,
    );
  });

  it.each([
    ['null', 'null'],
    ['42', 'a number'],
    ['"admin"', 'a string'],
    ['true', 'a boolean'],
    ['[{"exp":1,"roles":["stats:read"]}]', 'an array'],
  ])('refuses the claims set %s', (claims, kind) => {
    expect(unacceptableTokenReason(token({ alg: 'HS256' }, claims))).toBe(
      `the token's claims set is not a JSON object but ${kind}`,
    );
  });

  it.each([['garbage'], ['a.b.c'], ['..'], ['']])('leaves the unreadable %j to the verifier', (raw) => {
    expect(unacceptableTokenReason(raw)).toBeNull();
  });
});
