import type { NestExpressApplication } from '@nestjs/platform-express';

/** CORS for API_CORS_ORIGINS only: with none (the default) the api sends no CORS header. */
export function allowCorsFrom(app: NestExpressApplication, origins: string[]): void {
  if (origins.length === 0) return;
  app.enableCors({
    origin: origins,
    methods: ['GET', 'POST', 'DELETE'],
    // a front end may send its own request id, and read the one its lines are logged under
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposedHeaders: ['Retry-After', 'WWW-Authenticate', 'X-Request-Id'],
    maxAge: 600,
  });
}
