import { editDistance, nearestName } from './nearest-name';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['ttlsecond', 'ttlseconds', 1],
    ['ab', 'ba', 1], // a swap of neighbours is one edit
    ['sceret', 'secret', 1],
    ['abcdef', 'abcdef', 0],
    ['flaw', 'lawn', 2],
  ])('between %p and %p is %p', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('nearestName', () => {
  const SESSIONS = ['ttlSeconds', 'sources', 'sourceTimeoutMs', 'redis', 'store'];

  it.each([
    ['ttlSecond', 'ttlSeconds'],
    ['ttlseconds', 'ttlSeconds'],
    ['ttl_seconds', 'ttlSeconds'],
    ['TTL-Seconds', 'ttlSeconds'],
    ['source', 'sources'],
    ['sourceTimeoutMS', 'sourceTimeoutMs'],
    ['sourceTimeout', 'sourceTimeoutMs'],
    ['rdis', 'redis'],
    ['stroe', 'store'],
  ])('suggests the close candidate for %p (%p)', (name, expected) => {
    expect(nearestName(name, SESSIONS)).toBe(expected);
  });

  it.each(['ttl', 'timeout', 'cache', 'x', 'sessionStore', 'memory'])(
    'suggests nothing for %p, which is not close to any',
    (name) => {
      expect(nearestName(name, SESSIONS)).toBeUndefined();
    },
  );

  it('prefers the closest candidate, then the earlier one', () => {
    expect(nearestName('stoer', ['stop', 'store'])).toBe('store');
    expect(nearestName('abcd', ['abce', 'abcf'])).toBe('abce');
    expect(nearestName('abcd', ['abcf', 'abce'])).toBe('abcf');
  });

  it('suggests nothing from no candidates', () => {
    expect(nearestName('anything', [])).toBeUndefined();
  });
});
