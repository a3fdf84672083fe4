import { plainToInstance, Transform, Type } from 'class-transformer';
import type { SupportStatus } from '../versions/version-policy.service';
import { ApiField, ApiModel, DASHBOARD_EXAMPLE, schemaRef } from './dashboard.openapi';

const SUPPORT_STATUSES = ['full', 'partial', 'none'] as const satisfies readonly SupportStatus[];
const [GEO_EXAMPLE] = DASHBOARD_EXAMPLE.geoIpData;

/** The sessions at one location. Field order is that of the documented API. */
export class SessionGeoData {
  /** The count of sessions for this geolocation. */
  @ApiField({ type: 'integer', description: 'The count of sessions for this geolocation.', example: 3 })
  sessionCount!: number;

  @ApiField({ type: 'number', format: 'double', example: GEO_EXAMPLE.latitude })
  latitude!: number;

  @ApiField({ type: 'number', format: 'double', example: GEO_EXAMPLE.longitude })
  longitude!: number;

  /** The country code associated with the geolocation (ISO 3166-1 alpha-2). */
  @ApiField({ type: 'string', description: 'The country code associated with the geolocation.', example: 'SE' })
  countryCode!: string;

  /** The continent code associated with the geolocation (AF, AN, AS, EU, NA, OC, SA). */
  @ApiField({ type: 'string', description: 'The continent code associated with the geolocation.', example: 'EU' })
  continentCode!: string;

  /** The distinct IP addresses of the sessions at this location. */
  @ApiField({
    type: 'string',
    isArray: true,
    description: 'The IP addresses associated with the sessions in this geolocation.',
    example: GEO_EXAMPLE.ips,
  })
  ips!: string[];
}

/** How many sessions run one client version, and whether the policy supports it. */
export class ClientVersionSupport {
  @ApiField({
    type: 'string',
    enum: SUPPORT_STATUSES,
    description: 'Whether the version policy supports this client version.',
    example: 'full',
  })
  supportStatus!: SupportStatus;

  @ApiField({ type: 'integer', description: 'The count of sessions running this client version.', example: 3 })
  sessionCount!: number;
}

/** Dashboard data for active sessions: `GET /stats/active-sessions/dashboard`. */
export class DashboardSessionsDto {
  /** The total count of active sessions. */
  @ApiField({ type: 'integer', description: 'The total count of active sessions.', example: 6 })
  totalCount!: number;

  /** Sessions per location, most sessions first. Sessions without a location count only in totalCount. */
  @ApiField({
    type: () => SessionGeoData,
    isArray: true,
    description: 'Geolocation data related to active sessions.',
  })
  @Type(() => SessionGeoData)
  geoIpData!: SessionGeoData[];

  /** Sessions per reported client version, newest version first. */
  @ApiField({
    type: 'object',
    // A map keyed by client version: no fixed property names, every value a ClientVersionSupport.
    additionalProperties: schemaRef(ClientVersionSupport),
    description: 'Client version support: the sessions per reported client version, newest version first.',
    example: DASHBOARD_EXAMPLE.versions,
  })
  @Transform(({ value }) => mapValues(value, (support) => plainToInstance(ClientVersionSupport, support)))
  versions!: Record<string, ClientVersionSupport>;
}

/** Generic HTTP error of the documented API. */
@ApiModel({ description: 'Generic HTTP error.' })
export class StatsErrorDto {
  /** Machine readable error code. */
  @ApiField({ type: 'string', description: 'Machine readable error code.', example: 'unauthorized' })
  id!: string;

  /** Human readable error details. */
  @ApiField({ type: 'string', description: 'Human readable error details.', example: 'Token error. Login again.' })
  message!: string;
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}
