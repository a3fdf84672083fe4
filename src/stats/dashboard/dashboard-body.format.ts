import type { GeoLocation } from '../geo/geo.service';
import type { SupportStatus } from '../versions/version-policy.service';

/**
 * The documented body's JSON, written by hand rather than by JSON.stringify of DTOs: the locations
 * are written one run at a time and kept as bytes between changes. The field order is the API's
 * (`../shared/seed/dashboard-api.txt`), the same as the DTOs declare; the writers below are the one
 * place that spells it.
 */
export const DASHBOARD_FIELDS = ['totalCount', 'geoIpData', 'versions'] as const;
export const LOCATION_FIELDS = [
  'sessionCount',
  'latitude',
  'longitude',
  'countryCode',
  'continentCode',
  'ips',
] as const;
export const VERSION_FIELDS = ['supportStatus', 'sessionCount'] as const;

/** Everything before the first location. */
export function bodyHead(totalCount: number): string {
  return `{"totalCount":${totalCount},"geoIpData":[`;
}

/** Everything after the last location: the versions, in the order given, already written. */
export function bodyTail(versions: readonly string[]): string {
  return `],"versions":{${versions.join(',')}}}`;
}

/** One location of `geoIpData`; `ipsJson` is the JSON array of its IPs. */
export function locationJson(sessionCount: number, location: GeoLocation, ipsJson: string): string {
  return (
    `{"sessionCount":${sessionCount},"latitude":${location.latitude},"longitude":${location.longitude},` +
    `"countryCode":${JSON.stringify(location.countryCode)},"continentCode":${JSON.stringify(location.continentCode)},` +
    `"ips":${ipsJson}}`
  );
}

/** One member of `versions`. */
export function versionJson(version: string, supportStatus: SupportStatus, sessionCount: number): string {
  return `${JSON.stringify(version)}:{"supportStatus":"${supportStatus}","sessionCount":${sessionCount}}`;
}
