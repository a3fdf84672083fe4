import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { sign } from 'jsonwebtoken';
import { AppModule } from './app.module';
import { addDemoSessions } from './example/demo-sessions';
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

  const demoSessions = Number(process.env.STATS_DEMO_SESSIONS ?? 0);
  if (demoSessions > 0) await addDemoSessions(app.get(SessionsService), demoSessions);

  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  const logger = new Logger('Example');
  logger.log(`Listening on http://localhost:${port} (OpenAPI: /docs)`);
  if (developmentSecret) {
    const roles = (process.env.STATS_REQUIRED_ROLES ?? 'stats:read').split(',').map((role) => role.trim());
    const token = sign({ sub: 'developer', roles }, developmentSecret, { expiresIn: '12h' });
    logger.warn('No key configured: using a temporary secret for development only.');
    logger.log(`Token (12 h): ${token}`);
    logger.log(`curl -H "Authorization: Bearer ${token}" http://localhost:${port}/stats/active-sessions/dashboard`);
  }
}

void bootstrap();
