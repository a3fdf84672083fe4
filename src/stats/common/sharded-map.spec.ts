import { ShardedMap } from './sharded-map';

describe('ShardedMap', () => {
  it('behaves as a Map of the same entries', () => {
    const sharded = new ShardedMap<number>();
    const plain = new Map<string, number>();
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 20_000; step++) {
      const key = `10.0.${Math.floor(random() * 40)}.${Math.floor(random() * 250)}`;
      if (random() < 0.3) expect(sharded.delete(key)).toBe(plain.delete(key));
      else {
        sharded.set(key, step);
        plain.set(key, step);
      }
    }
    expect(sharded.size).toBe(plain.size);
    expect(new Map(sharded)).toEqual(plain);
    expect(new Set(sharded.keys())).toEqual(new Set(plain.keys()));
    expect([...sharded.values()].sort()).toEqual([...plain.values()].sort());
    for (const key of plain.keys()) {
      expect(sharded.has(key)).toBe(true);
      expect(sharded.get(key)).toBe(plain.get(key));
    }
    expect(sharded.get('absent')).toBeUndefined();
    let visited = 0;
    sharded.forEach((value, key) => {
      expect(plain.get(key)).toBe(value);
      visited++;
    });
    expect(visited).toBe(plain.size);
  });

  it('counts a key set twice once, and empties on clear', () => {
    const sharded = new ShardedMap<string>();
    sharded.set('a', 'x').set('a', 'y').set('b', 'z');
    expect(sharded.size).toBe(2);
    expect(sharded.get('a')).toBe('y');
    expect(sharded.delete('missing')).toBe(false);
    sharded.clear();
    expect(sharded.size).toBe(0);
    expect([...sharded]).toEqual([]);
  });

  it('lets entries be deleted while iterating, as a Map does', () => {
    const sharded = new ShardedMap<number>();
    for (let i = 0; i < 1000; i++) sharded.set(`k${i}`, i);
    for (const [key, value] of sharded) if (value % 2 === 0) sharded.delete(key);
    expect(sharded.size).toBe(500);
    expect([...sharded.values()].every((value) => value % 2 === 1)).toBe(true);
  });
});
