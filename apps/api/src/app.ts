import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AuditLog } from '@app/database';
import { ApiAccessSettings } from './access/access.settings';
import { ApiModule } from './api.module';
import { API_PREFIX } from './api-prefix';
import { ApiSettings } from './api.settings';
import { serveApiDocs } from './docs/openapi';
import { hardenHttp } from './http/harden-http';

export { API_PREFIX };

/** The routes served at the root, not under `/api/v1` (ObservabilityController). */
const OUTSIDE_PREFIX = ['metrics', 'health/live', 'health/ready'];

/**
 * Builds the api exactly as it runs, without listening: main.ts and the tests share it.
 * Checks the configuration first, so a bad value stops start-up before anything connects.
 */
export async function createApiApp(): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(await ApiModule.forRoot(), {
    bufferLogs: true,
    abortOnError: false,
    // hardenHttp() adds the one body parser the api takes: JSON
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  hardenHttp(app, app.get(ApiAccessSettings), app.get(AuditLog));
  // probes and metrics at the same paths on every app, where monitoring looks for them
  app.setGlobalPrefix(API_PREFIX, { exclude: OUTSIDE_PREFIX });
  if (app.get(ApiSettings).docs === 'on') serveApiDocs(app);
  return app;
}
