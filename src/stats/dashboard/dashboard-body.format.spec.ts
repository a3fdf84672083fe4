import 'reflect-metadata';
import { ClientVersionSupport, DashboardSessionsDto, SessionGeoData } from './dashboard.dto';
import {
  bodyHead,
  bodyTail,
  DASHBOARD_FIELDS,
  LOCATION_FIELDS,
  locationJson,
  VERSION_FIELDS,
  versionJson,
} from './dashboard-body.format';

describe('dashboard body format', () => {
  const location = { latitude: 57.9303, longitude: 12.5334, countryCode: 'SE', continentCode: 'EU' };
  const body = JSON.parse(
    bodyHead(3) +
      locationJson(3, location as never, '["85.228.0.1"]') +
      bodyTail([versionJson('6.0.0', 'full', 2), versionJson('5.0.0"x', 'none', 1)]),
  );

  it('writes valid JSON in the documented field order', () => {
    expect(Object.keys(body)).toEqual([...DASHBOARD_FIELDS]);
    expect(Object.keys(body.geoIpData[0])).toEqual([...LOCATION_FIELDS]);
    expect(Object.keys(body.versions)).toEqual(['6.0.0', '5.0.0"x']);
    expect(Object.keys(body.versions['6.0.0'])).toEqual([...VERSION_FIELDS]);
    expect(body.geoIpData[0]).toEqual({ sessionCount: 3, ...location, ips: ['85.228.0.1'] });
  });

  it('spells the same fields, in the same order, as the DTOs declare', () => {
    // The fields as @ApiField (through @nestjs/swagger) recorded them, in declaration order.
    const order = (target: { prototype: object }) =>
      (Reflect.getMetadata('swagger/apiModelPropertiesArray', target.prototype) as string[]).map((name) =>
        name.slice(1),
      );
    expect(order(DashboardSessionsDto)).toEqual([...DASHBOARD_FIELDS]);
    expect(order(SessionGeoData)).toEqual([...LOCATION_FIELDS]);
    expect(order(ClientVersionSupport)).toEqual([...VERSION_FIELDS]);
  });
});
