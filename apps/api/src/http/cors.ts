import type { NestExpressApplication } from '@nestjs/platform-express';

/** CORS for API_CORS_ORIGINS only: with none (the default) the api sends no CORS header. */
export function allowCorsFrom(app: NestExpressApplication, origins: string[]): void {
  if (origins.length === 0) return;
  app.enableCors({
    origin: origins,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    exposedHeaders: ['Retry-After', 'WWW-Authenticate'],
    maxAge: 600,
  });
}
