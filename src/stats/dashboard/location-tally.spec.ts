import { GeoService } from '../geo/geo.service';
import { LocationTally } from './location-tally';

describe('LocationTally', () => {
  const geo = new GeoService();
  const read = (tally: LocationTally) => tally.serialised().map((json) => JSON.parse(json.toString()));

  it('groups IPs by location, most sessions first, and skips IPs without a location', async () => {
    const tally = new LocationTally(geo);
    await tally.sync(new Map([['8.8.8.8', 1], ['49.44.0.1', 2], ['8.8.4.4', 2], ['10.0.0.1', 5]]));
    expect(read(tally)).toEqual([
      { sessionCount: 3, latitude: 37.751, longitude: -97.822, countryCode: 'US', continentCode: 'NA', ips: ['8.8.8.8', '8.8.4.4'] },
      { sessionCount: 2, latitude: 20, longitude: 77, countryCode: 'IN', continentCode: 'AS', ips: ['49.44.0.1'] },
    ]);
  });

  it('follows changes, removals and locations that empty out', async () => {
    const tally = new LocationTally(geo);
    await tally.sync(new Map([['8.8.8.8', 1], ['49.44.0.1', 2], ['8.8.4.4', 2]]));
    await tally.sync(new Map([['8.8.8.8', 4], ['85.228.0.1', 1]]));
    expect(read(tally)).toEqual([
      expect.objectContaining({ countryCode: 'US', sessionCount: 4, ips: ['8.8.8.8'] }),
      expect.objectContaining({ countryCode: 'SE', sessionCount: 1, ips: ['85.228.0.1'] }),
    ]);
    await tally.sync(new Map());
    expect(read(tally)).toEqual([]);
  });

  it('re-serialises only the locations that changed', async () => {
    const tally = new LocationTally(geo);
    await tally.sync(new Map([['8.8.8.8', 1], ['49.44.0.1', 1]]));
    const [india, us] = tally.serialised(); // a tie: ordered by country code
    await tally.sync(new Map([['8.8.8.8', 1], ['49.44.0.1', 3]]));
    const [indiaAfter, usAfter] = tally.serialised();
    expect(JSON.parse(indiaAfter.toString())).toMatchObject({ countryCode: 'IN', sessionCount: 3 });
    expect(usAfter).toBe(us);
    expect(indiaAfter).not.toBe(india);
  });

  it('syncs a large map in slices without losing counts', async () => {
    const tally = new LocationTally(geo);
    const sessionsByIp = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) sessionsByIp.set(`8.8.${i >> 8 & 255}.${i & 255}`, 1);
    await tally.sync(sessionsByIp);
    const total = read(tally).reduce((sum, location) => sum + location.sessionCount, 0);
    expect(total).toBe(new Set(sessionsByIp.keys()).size);
  });
});
