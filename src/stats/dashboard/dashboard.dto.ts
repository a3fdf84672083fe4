import type { SupportStatus } from '../versions/version-policy.service';

/** The sessions at one location. Field order is that of the documented API. */
export class SessionGeoData {
  /** The count of sessions for this geolocation. */
  sessionCount!: number;
  latitude!: number;
  longitude!: number;
  /** The country code associated with the geolocation (ISO 3166-1 alpha-2). */
  countryCode!: string;
  /** The continent code associated with the geolocation (AF, AN, AS, EU, NA, OC, SA). */
  continentCode!: string;
  /** The distinct IP addresses of the sessions at this location. */
  ips!: string[];
}

/** How many sessions run one client version, and whether the policy supports it. */
export class ClientVersionSupport {
  supportStatus!: SupportStatus;
  sessionCount!: number;
}

/** Dashboard data for active sessions: `GET /stats/active-sessions/dashboard`. */
export class DashboardSessionsDto {
  /** The total count of active sessions. */
  totalCount!: number;
  /** Sessions per location, most sessions first. Sessions without a location count only in totalCount. */
  geoIpData!: SessionGeoData[];
  /** Sessions per reported client version, newest version first. */
  versions!: Record<string, ClientVersionSupport>;
}

/** Generic HTTP error of the documented API. */
export class StatsErrorDto {
  /** Machine readable error code. */
  id!: string;
  /** Human readable error details. */
  message!: string;
}
