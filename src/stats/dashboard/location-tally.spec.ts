import { GeoService } from '../geo/geo.service';
import { LocationTally } from './location-tally';

describe('LocationTally', () => {
  const geo = new GeoService();
  const read = async (tally: LocationTally) =>
    JSON.parse(Buffer.concat(await tally.serialise(Buffer.from('['), Buffer.from(']'))).toString());

  it('groups IPs by location, most sessions first, and skips IPs without a location', async () => {
    const tally = new LocationTally(geo);
    await tally.sync(
      new Map([
        ['8.8.8.8', 1],
        ['49.44.0.1', 2],
        ['8.8.4.4', 2],
        ['10.0.0.1', 5],
      ]),
    );
    expect(await read(tally)).toEqual([
      {
        sessionCount: 3,
        latitude: 37.751,
        longitude: -97.822,
        countryCode: 'US',
        continentCode: 'NA',
        ips: ['8.8.8.8', '8.8.4.4'],
      },
      { sessionCount: 2, latitude: 20, longitude: 77, countryCode: 'IN', continentCode: 'AS', ips: ['49.44.0.1'] },
    ]);
  });

  it('follows changes, removals and locations that empty out', async () => {
    const tally = new LocationTally(geo);
    await tally.sync(
      new Map([
        ['8.8.8.8', 1],
        ['49.44.0.1', 2],
        ['8.8.4.4', 2],
      ]),
    );
    await tally.sync(
      new Map([
        ['8.8.8.8', 4],
        ['85.228.0.1', 1],
      ]),
    );
    expect(await read(tally)).toEqual([
      expect.objectContaining({ countryCode: 'US', sessionCount: 4, ips: ['8.8.8.8'] }),
      expect.objectContaining({ countryCode: 'SE', sessionCount: 1, ips: ['85.228.0.1'] }),
    ]);
    await tally.sync(new Map());
    expect(await read(tally)).toEqual([]);
  });

  // Few locations with many IPs each; then thousands of locations, in many runs that split and merge.
  const fewPlaces = Array.from(
    { length: 400 },
    (_, i) => `${[8, 41, 49, 85, 200][i % 5]}.${(i * 7) % 256}.${i % 251}.${(i * 13) % 256}`,
  );
  const manyPlaces = Array.from(
    { length: 6000 },
    (_, i) => `${1 + (i % 222)}.${((i / 222) | 0) * 9}.${(i * 7) % 256}.1`,
  ); // ~1,800 locations
  it.each([
    ['comparing every IP', false, fewPlaces, 60, 300],
    ['told which IPs changed', true, fewPlaces, 60, 300],
    ['told which IPs changed, thousands of locations', true, manyPlaces, 40, 4000],
  ])(
    'keeps the same locations and order as a full regrouping through many changes, %s',
    async (_, tellChanges, pool, rounds, burst) => {
      const tally = new LocationTally(geo);
      const changed = new Set<string>();
      const sessionsByIp = new Map<string, number>();
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let round = 0; round < rounds; round++) {
        // Mostly a few changes, sometimes a burst (locations come and go in numbers).
        const changes = round % 10 === 0 ? burst : 1 + Math.floor(random() * 5);
        for (let change = 0; change < changes; change++) {
          const ip = pool[Math.floor(random() * pool.length)];
          const count = Math.floor(random() * 4);
          if (count === 0) sessionsByIp.delete(ip);
          else sessionsByIp.set(ip, count);
          changed.add(ip);
        }
        if (round % 20 === 15) {
          // Most IPs go at once, so that the runs of the order shrink and join.
          for (const ip of sessionsByIp.keys()) {
            if (random() < 0.9) {
              sessionsByIp.delete(ip);
              changed.add(ip);
            }
          }
        }
        await tally.sync(sessionsByIp, tellChanges && round > 0 ? new Set(changed) : undefined);
        changed.clear();
        const found = (await read(tally)).map((entry: { ips: string[] }) => ({ ...entry, ips: [...entry.ips].sort() }));
        expect(found).toEqual(regroup(sessionsByIp));
      }
    },
  );

  /** The dashboard's locations computed from scratch, the way the documented API orders them. */
  function regroup(sessionsByIp: Map<string, number>) {
    const byLocation = new Map<
      object,
      { sessionCount: number; countryCode: string; latitude: number; longitude: number; ips: string[] }
    >();
    for (const [ip, count] of sessionsByIp) {
      const location = geo.locate(ip);
      if (!location) continue;
      const entry = byLocation.get(location) ?? { ...location, sessionCount: 0, ips: [] };
      entry.sessionCount += count;
      entry.ips.push(ip);
      byLocation.set(location, entry);
    }
    return [...byLocation.values()]
      .sort(
        (a, b) =>
          b.sessionCount - a.sessionCount ||
          a.countryCode.localeCompare(b.countryCode) ||
          a.latitude - b.latitude ||
          a.longitude - b.longitude,
      )
      .map((entry) => ({ ...entry, ips: entry.ips.sort() }));
  }

  it('syncs a large map in slices without losing counts', async () => {
    const tally = new LocationTally(geo);
    const sessionsByIp = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) sessionsByIp.set(`8.8.${(i >> 8) & 255}.${i & 255}`, 1);
    await tally.sync(sessionsByIp);
    const total = (await read(tally)).reduce(
      (sum: number, location: { sessionCount: number }) => sum + location.sessionCount,
      0,
    );
    expect(total).toBe(new Set(sessionsByIp.keys()).size);
  });
});
