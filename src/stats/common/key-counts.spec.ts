import { KeyCounts } from './key-counts';

describe('KeyCounts', () => {
  it('counts per key, shares one slot per key and reads like a map', () => {
    const counts = new KeyCounts();
    const a = counts.acquire('1.1.1.1');
    expect(counts.acquire('1.1.1.1')).toBe(a);
    const b = counts.acquire('8.8.8.8');
    expect(b).not.toBe(a);
    expect(counts.keyAt(b)).toBe('8.8.8.8');
    expect(counts.size).toBe(2);
    expect(counts.get('1.1.1.1')).toBe(2);
    expect(counts.has('9.9.9.9')).toBe(false);
    expect(Object.fromEntries(counts)).toEqual({ '1.1.1.1': 2, '8.8.8.8': 1 });
    expect(new Map(counts)).toEqual(
      new Map([
        ['1.1.1.1', 2],
        ['8.8.8.8', 1],
      ]),
    );
    expect([...counts.keys()].sort()).toEqual(['1.1.1.1', '8.8.8.8']);
    expect([...counts.values()].sort()).toEqual([1, 2]);
  });

  it('drops a key at zero and reuses its slot for the next new key', () => {
    const counts = new KeyCounts();
    const a = counts.acquire('a');
    counts.acquire('a');
    expect(counts.release(a)).toBe(false);
    expect(counts.release(a)).toBe(true);
    expect(counts.has('a')).toBe(false);
    expect(counts.get('a')).toBeUndefined();
    expect(counts.size).toBe(0);
    const b = counts.acquire('b');
    expect(b).toBe(a);
    expect(counts.get('b')).toBe(1);
  });

  it('grows past its first capacity', () => {
    const counts = new KeyCounts();
    for (let i = 0; i < 5000; i++) counts.acquire(`k${i % 2500}`);
    expect(counts.size).toBe(2500);
    expect([...counts.values()].every((count) => count === 2)).toBe(true);
  });
});
