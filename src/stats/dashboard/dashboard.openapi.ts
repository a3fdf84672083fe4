import { applyDecorators, HttpStatus, type Type } from '@nestjs/common';
import type * as Swagger from '@nestjs/swagger';
import type { ApiPropertyOptions, ApiSchemaOptions } from '@nestjs/swagger';
import { ERROR_MESSAGES } from '../errors/error-messages';

/**
 * OpenAPI metadata of the dashboard route and its DTOs. @nestjs/swagger is an optional peer
 * dependency: it is loaded only when the host has it installed, and without it every decorator here
 * does nothing, so the module runs the same with or without it.
 */
const swagger = loadSwagger();

function loadSwagger(): typeof Swagger | undefined {
  try {
    // A plain require: a static import would make @nestjs/swagger mandatory.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when the host has it
    return require('@nestjs/swagger') as typeof Swagger;
  } catch (error) {
    // Only an absent @nestjs/swagger means "undocumented"; a broken installation must still fail loudly.
    const { code, message } = (error ?? {}) as { code?: string; message?: string };
    if (code === 'MODULE_NOT_FOUND' && message?.includes("'@nestjs/swagger'")) return undefined;
    throw error;
  }
}

/** Does nothing: what the decorators below are without @nestjs/swagger. */
const undocumented = (): void => undefined;

/** `@ApiProperty` when @nestjs/swagger is installed. */
export function ApiField(options: ApiPropertyOptions): PropertyDecorator {
  return swagger ? swagger.ApiProperty(options) : undocumented;
}

/** `@ApiSchema` when @nestjs/swagger is installed. */
export function ApiModel(options: ApiSchemaOptions): ClassDecorator {
  return swagger ? swagger.ApiSchema(options) : undocumented;
}

/** A `$ref` to the schema of `model`, for schemas the property decorators cannot express (maps). */
export function schemaRef(model: Type<unknown>): { $ref: string } {
  return { $ref: swagger ? swagger.getSchemaPath(model) : `#/components/schemas/${model.name}` };
}

/** The example of the documented API (`example1`). */
export const DASHBOARD_EXAMPLE = {
  totalCount: 6,
  geoIpData: [
    {
      sessionCount: 3,
      latitude: 55.8667,
      longitude: 12.8333,
      countryCode: 'SE',
      continentCode: 'EU',
      ips: ['192.0.2.1', '192.0.2.2'],
    },
    {
      sessionCount: 1,
      latitude: 37.751,
      longitude: -97.822,
      countryCode: 'US',
      continentCode: 'NA',
      ips: ['198.51.100.1'],
    },
    {
      sessionCount: 1,
      latitude: 20,
      longitude: 77,
      countryCode: 'IN',
      continentCode: 'AS',
      ips: ['203.0.113.1'],
    },
  ],
  versions: {
    '6.0.0-release-1234': { supportStatus: 'full', sessionCount: 3 },
    '5.5.0-release-1234': { supportStatus: 'partial', sessionCount: 2 },
    '5.4.1-release-1234': { supportStatus: 'none', sessionCount: 1 },
  },
};

/** The error answers of the route, with the messages the module sends. */
const ERROR_RESPONSES: ReadonlyArray<[HttpStatus, string]> = [
  [HttpStatus.UNAUTHORIZED, ERROR_MESSAGES.unauthorized],
  [HttpStatus.FORBIDDEN, ERROR_MESSAGES.forbidden],
  [HttpStatus.NOT_ACCEPTABLE, ERROR_MESSAGES.notAcceptable],
  [HttpStatus.INTERNAL_SERVER_ERROR, ERROR_MESSAGES.internal],
  [HttpStatus.SERVICE_UNAVAILABLE, `${ERROR_MESSAGES.storeUnavailable} / ${ERROR_MESSAGES.keysUnavailable}`],
  [HttpStatus.GATEWAY_TIMEOUT, ERROR_MESSAGES.sourceTimeout],
];

export interface DashboardApiModels {
  /** The 200 body. */
  dashboard: Type<unknown>;
  /** Referenced only through `additionalProperties`, so it must be registered explicitly. */
  versionSupport: Type<unknown>;
  /** The body of every error. */
  error: Type<unknown>;
}

/**
 * Documents `GET /stats/active-sessions/dashboard`: bearer security (the scheme named `bearer`,
 * as `DocumentBuilder.addBearerAuth()` declares it), the 200 body with the documented example and
 * every error status. The models are passed in because the DTO file imports this one.
 */
export function ApiDashboardRoute(models: DashboardApiModels): MethodDecorator {
  if (!swagger) return undocumented;
  const { ApiBearerAuth, ApiExtraModels, ApiOperation, ApiProduces, ApiResponse } = swagger;
  return applyDecorators(
    ApiOperation({
      operationId: 'getActiveSessionsDashboard',
      summary: 'Get Dashboard Data for Active Sessions.',
      description:
        'Retrieves dashboard data related to active sessions. This includes information about the total ' +
        'count of sessions, geolocation data, and client version support.\n\n' +
        'NOTE: This endpoint is intended for internal use and may be changed or removed at any point.',
    }),
    ApiBearerAuth(),
    ApiExtraModels(models.versionSupport),
    ApiProduces('application/json'),
    ApiResponse({
      status: HttpStatus.OK,
      description: 'Dashboard data for active sessions.',
      type: models.dashboard,
      examples: { example1: { summary: 'example1', value: DASHBOARD_EXAMPLE } },
    }),
    ...ERROR_RESPONSES.map(([status, description]) => ApiResponse({ status, description, type: models.error })),
  );
}
