import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ApiModule } from './api.module';
import { API_PREFIX } from './api-prefix';

export { API_PREFIX };

/**
 * Builds the api exactly as it runs, without listening: main.ts and the tests share it.
 * Checks the configuration first, so a bad value stops start-up before anything connects.
 */
export async function createApiApp(): Promise<INestApplication> {
  const app = await NestFactory.create(await ApiModule.forRoot(), {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.setGlobalPrefix(API_PREFIX);
  return app;
}
