import { GeoService } from './geo.service';

describe('GeoService', () => {
  const geo = new GeoService();

  it('locates public IPv4 and IPv6 addresses with country and continent codes', () => {
    expect(geo.locate('8.8.8.8')).toEqual({
      countryCode: 'US',
      continentCode: 'NA',
      latitude: 37.751,
      longitude: -97.822,
    });
    expect(geo.locate('49.44.0.1')).toEqual({ countryCode: 'IN', continentCode: 'AS', latitude: 20, longitude: 77 });
    expect(geo.locate('41.0.0.1')).toMatchObject({ countryCode: 'ZA', continentCode: 'AF' });
    expect(geo.locate('200.160.2.3')).toMatchObject({ countryCode: 'BR', continentCode: 'SA' });
    expect(geo.locate('1.0.0.1')).toMatchObject({ countryCode: 'AU', continentCode: 'OC' });
    expect(geo.locate('2001:4860:4860::8888')).toMatchObject({ countryCode: 'US', continentCode: 'NA' });
  });

  it('returns one shared object per location, so callers can group by identity', () => {
    expect(geo.locate('8.8.8.8')).toBe(geo.locate('8.8.4.4'));
  });

  it.each([
    ['10.0.0.1'],
    ['192.168.0.1'],
    ['127.0.0.1'],
    ['192.0.2.1'],
    ['198.51.100.1'],
    ['203.0.113.1'],
    ['::1'],
    ['fe80::1'],
  ])('has no location for the non-public address %s', (ip) => {
    expect(geo.locate(ip)).toBeNull();
  });

  it('reports its data as loaded', () => {
    expect(geo.isReady()).toBe(true);
  });
});
