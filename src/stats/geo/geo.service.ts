import { Injectable } from '@nestjs/common';
import { continents, countries } from 'countries-list';
import * as geoip from 'geoip-lite';
import { ShardedMap } from '../common/sharded-map';

/** Where an IP address is, as the dashboard groups it. */
export interface GeoLocation {
  countryCode: string;
  continentCode: string;
  latitude: number;
  longitude: number;
}

/** Lookups are cached per IP; past this many entries the cache starts over, bounding memory. */
const MAX_CACHED_IPS = 2_000_000;

/**
 * Locates IP addresses with geoip-lite's bundled database. Each distinct location is one shared
 * object, so callers can group by identity. Private, loopback, reserved and documentation ranges
 * have no location (null).
 */
@Injectable()
export class GeoService {
  private readonly byIp = new ShardedMap<GeoLocation | null>();
  private readonly byKey = new Map<string, GeoLocation>();

  /** `ip` must be normalised (see normalizeIp). */
  locate(ip: string): GeoLocation | null {
    let location = this.byIp.get(ip);
    if (location === undefined) {
      location = this.lookup(ip);
      if (this.byIp.size >= MAX_CACHED_IPS) this.byIp.clear();
      this.byIp.set(ip, location);
    }
    return location;
  }

  /** True once the GeoIP database answers (it loads synchronously when the module is imported). */
  isReady(): boolean {
    return geoip.lookup('8.8.8.8') !== null;
  }

  private lookup(ip: string): GeoLocation | null {
    const found = geoip.lookup(ip);
    if (!found || !found.country || !Array.isArray(found.ll)) return null;
    const [latitude, longitude] = found.ll;
    const key = `${found.country}|${latitude}|${longitude}`;
    let location = this.byKey.get(key);
    if (!location) {
      location = { countryCode: found.country, continentCode: continentOf(found.country), latitude, longitude };
      this.byKey.set(key, location);
    }
    return location;
  }
}

/** Continent of an ISO 3166 country; geoip-lite's pseudo-countries EU and AP map to their region. */
function continentOf(countryCode: string): string {
  const country = countries[countryCode as keyof typeof countries];
  if (country) return country.continent;
  if (countryCode === 'EU') return 'EU';
  if (countryCode === 'AP') return 'AS';
  return countryCode in continents ? countryCode : '';
}
