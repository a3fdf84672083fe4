import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';

export type HttpPlatformName = 'express' | 'fastify';

/**
 * The HTTP platform this Jest project runs the e2e specs on: `e2e` runs them on Express,
 * `e2e-fastify` on Fastify (see jest.config.js, whose setup files set STATS_E2E_PLATFORM).
 */
export const HTTP_PLATFORM: HttpPlatformName = platformFromEnvironment();

function platformFromEnvironment(): HttpPlatformName {
  const name = process.env.STATS_E2E_PLATFORM ?? 'express';
  if (name !== 'express' && name !== 'fastify')
    throw new Error(`STATS_E2E_PLATFORM must be express or fastify, not "${name}"`);
  return name;
}

export interface HttpAppOptions extends NestApplicationOptions {
  /**
   * Proxy hops whose X-Forwarded-For the app trusts: Express's `trust proxy` setting, Fastify's
   * `trustProxy` option. Unset, neither trusts any.
   */
  trustProxy?: number;
}

/** The host's adapter on the platform of this run, as a host would create it. */
export function createHttpAdapter({ trustProxy }: Pick<HttpAppOptions, 'trustProxy'> = {}):
  ExpressAdapter | FastifyAdapter {
  if (HTTP_PLATFORM === 'fastify') return new FastifyAdapter(trustProxy === undefined ? {} : { trustProxy });
  const adapter = new ExpressAdapter();
  if (trustProxy !== undefined) adapter.set('trust proxy', trustProxy);
  return adapter;
}

/**
 * Creates the app of `moduleRef` on the platform of this run, lets `configure` add what the host
 * adds before start-up (middleware, say), and initialises it, ready for supertest.
 */
export async function startHttpApp(
  moduleRef: TestingModule,
  { trustProxy, ...options }: HttpAppOptions = {},
  configure?: (app: INestApplication) => void,
): Promise<INestApplication> {
  const app = moduleRef.createNestApplication<NestExpressApplication | NestFastifyApplication>(
    createHttpAdapter({ trustProxy }),
    options,
  );
  configure?.(app);
  await app.init();
  // Fastify adds its routes to the Node server only once ready; supertest calls that server.
  if (HTTP_PLATFORM === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  return app;
}

/**
 * What hosts commonly add around every response, each the way its platform does it: a header
 * (Express middleware on the response; a Fastify onRequest hook on the reply) and a hook that sees
 * each finished response (for access logs or metrics: `finish` on Express, onResponse on Fastify).
 * Call from `configure` of {@link startHttpApp}: Fastify takes hooks only before it starts.
 */
export function addHostHooks(
  app: INestApplication,
  header: { name: string; value: string },
  onResponse: (status: number, path: string) => void,
): void {
  if (HTTP_PLATFORM === 'fastify') {
    const fastify = (app as NestFastifyApplication).getHttpAdapter().getInstance();
    fastify.addHook('onRequest', (_request, reply, done) => {
      reply.header(header.name, header.value);
      done();
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      onResponse(reply.statusCode, request.url);
      done();
    });
    return;
  }
  (app as NestExpressApplication).use(
    (request: { originalUrl: string }, response: import('node:http').ServerResponse, next: () => void) => {
      response.setHeader(header.name, header.value);
      response.on('finish', () => onResponse(response.statusCode, request.originalUrl));
      next();
    },
  );
}
