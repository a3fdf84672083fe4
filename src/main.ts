import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { sign } from 'jsonwebtoken';
import { AppModule } from './app.module';
import { addDemoSessionsWhenStoreAnswers } from './example/demo-sessions';
import { developmentSecret } from './example/stats-options.from-env';
import { SessionsService } from './stats';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  const trustProxy = process.env.TRUST_PROXY;
  if (trustProxy) app.set('trust proxy', /^\d+$/.test(trustProxy) ? Number(trustProxy) : trustProxy);
  app.enableShutdownHooks();

  // The host's OpenAPI document, the StatsModule's route included: UI at /docs, JSON at /docs-json.
  const openApi = new DocumentBuilder().setTitle('Example host').setVersion('1.0').addBearerAuth().build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openApi));

  const logger = new Logger('Example');
  // A store error (Redis down) is logged and tried again: the host listens and answers 503 meanwhile.
  const demoSessions = Number(process.env.STATS_DEMO_SESSIONS ?? 0);
  if (demoSessions > 0) await addDemoSessionsWhenStoreAnswers(app.get(SessionsService), demoSessions, logger);

  await app.listen(Number(process.env.PORT ?? 3000));
  const port = (app.getHttpServer().address() as AddressInfo).port;
  logger.log(`Listening on http://localhost:${port} (OpenAPI: /docs)`);
  if (developmentSecret) {
    const roles = (process.env.STATS_REQUIRED_ROLES ?? 'stats:read').split(',').map((role) => role.trim());
    const token = sign({ sub: 'developer', roles }, developmentSecret, { expiresIn: '12h' });
    logger.warn('No key configured: using a temporary secret for development only.');
    logger.log(`Token (12 h): ${token}`);
    logger.log(`curl -H "Authorization: Bearer ${token}" http://localhost:${port}/stats/active-sessions/dashboard`);
  }
}

bootstrap().catch((error: unknown) => {
  // Errors while the application is created are logged by Nest itself, which then exits.
  new Logger('Example').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
