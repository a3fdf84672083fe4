import { VerifiedTokenCache } from './verified-token.cache';

describe('VerifiedTokenCache', () => {
  const now = 1_800_000_000_000;

  it('answers the claims of a remembered token, as a copy', () => {
    const cache = new VerifiedTokenCache(0);
    cache.remember('a.b.c', { sub: 'x', roles: ['stats:read'] }, now);
    const claims = cache.get('a.b.c', now + 1000)!;
    expect(claims).toEqual({ sub: 'x', roles: ['stats:read'] });
    claims.sub = 'changed';
    expect(cache.get('a.b.c', now + 1000)).toEqual({ sub: 'x', roles: ['stats:read'] });
    expect(cache.get('a.b.other', now)).toBeUndefined();
  });

  it('forgets a token at its exp, clock tolerance included', () => {
    const cache = new VerifiedTokenCache(5000);
    cache.remember('t', { exp: now / 1000 + 10 }, now);
    expect(cache.get('t', now + 14_999)).toBeDefined();
    expect(cache.get('t', now + 15_000)).toBeUndefined();
  });

  it('forgets a token after a minute even when it expires later, or never', () => {
    const cache = new VerifiedTokenCache(0);
    cache.remember('late', { exp: now / 1000 + 3600 }, now);
    cache.remember('never', {}, now);
    expect(cache.get('late', now + 59_999)).toBeDefined();
    expect(cache.get('late', now + 60_000)).toBeUndefined();
    expect(cache.get('never', now + 60_000)).toBeUndefined();
  });

  it('forgets every token once the keys may have changed', () => {
    const cache = new VerifiedTokenCache(0);
    cache.remember('t', {}, now, 1);
    expect(cache.get('t', now, 1)).toBeDefined();
    expect(cache.get('t', now, 2)).toBeUndefined();
  });

  it('does not remember a token that is already past its exp', () => {
    const cache = new VerifiedTokenCache(0);
    cache.remember('old', { exp: now / 1000 - 1 }, now);
    expect(cache.get('old', now)).toBeUndefined();
  });

  it('holds a bounded number of tokens, dropping the oldest', () => {
    const cache = new VerifiedTokenCache(0);
    for (let i = 0; i <= 10_000; i++) cache.remember(`t${i}`, { i }, now);
    expect(cache.get('t0', now)).toBeUndefined();
    expect(cache.get('t1', now)).toEqual({ i: 1 });
    expect(cache.get('t10000', now)).toEqual({ i: 10_000 });
  });
});
