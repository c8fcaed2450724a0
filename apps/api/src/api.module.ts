import { Module, ValidationPipe, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { IncomingMessage } from 'node:http';
import { DataSource } from 'typeorm';
import { Catalogue, catalogueReadiness, CatalogueModule } from '@app/catalogue';
import { databaseAnswers, DatabaseModule } from '@app/database';
import {
  healthProbeProviders,
  loggingModule,
  ObservabilityModule,
  SettingsModule,
} from '@app/platform';
import { AccessGuard } from './access/access.guard';
import { ApiAccessSettings } from './access/access.settings';
import { accessState } from './access/access-state';
import { ApiAudit } from './access/api-audit';
import { ApiThrottlerGuard } from './access/api-throttler.guard';
import { AuditController } from './access/audit.controller';
import { HealthController } from './access/health.controller';
import { TokensController } from './access/tokens.controller';
import { apiEnvironment } from './api.environment';
import { BadInputFilter } from './bad-input.filter';
import { CatalogueController } from './catalogue.controller';
import { ConflictFilter } from './conflict.filter';
import { ApiMetrics } from './observability/api-metrics';
import { ObservabilityController } from './observability/observability.controller';
import { OperationSealer } from './operations/operation-sealer';
import { requestLogFields } from './operations/operation-path';
import { OperationsController } from './operations/operations.controller';
import { StreamsController } from './streams/streams.controller';
import { WorkersController } from './workers/workers.controller';
import { StreamsModule } from './streams/streams.module';
import { API_PREFIX } from './api-prefix';

/**
 * The REST api. It holds PostgreSQL credentials only: nothing here reaches the broker. Every
 * route but health needs a bearer token (AccessGuard); `/metrics` takes its own.
 */
@Module({
  imports: [
    loggingModule('aegir-api', {
      requestFields: requestLogFields,
      probePaths: [`/${API_PREFIX}/health`],
    }),
    DatabaseModule.forRoot({ appName: 'aegir-api' }),
    CatalogueModule.forRoot(),
    ObservabilityModule.forRoot(),
    ThrottlerModule.forRootAsync({
      inject: [ApiAccessSettings],
      useFactory: (settings: ApiAccessSettings) => ({
        throttlers: [
          {
            ttl: settings.rateWindowSeconds * 1000,
            limit: (context) =>
              accessState(context.switchToHttp().getRequest<IncomingMessage>()).principal
                ? settings.rateLimit
                : settings.rateLimitAnonymous,
          },
        ],
      }),
    }),
    StreamsModule,
  ],
  controllers: [
    // first: its `operations/stream` must be matched before `operations/:id`
    StreamsController,
    OperationsController,
    CatalogueController,
    WorkersController,
    TokensController,
    AuditController,
    HealthController,
    ObservabilityController,
  ],
  providers: [
    ApiThrottlerGuard,
    ApiAudit,
    // Every route: token, rate limit, role (a route says who may call it with @Access).
    { provide: APP_GUARD, useClass: AccessGuard },
    {
      provide: APP_PIPE,
      useValue: new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
        transform: true,
      }),
    },
    { provide: APP_FILTER, useClass: BadInputFilter },
    { provide: APP_FILTER, useClass: ConflictFilter },
    OperationSealer,
    ApiMetrics,
    ...healthProbeProviders({
      inject: [DataSource, Catalogue],
      useFactory: (dataSource: DataSource, catalogue: Catalogue) => ({
        database: () => databaseAnswers(dataSource),
        catalogue: catalogueReadiness(catalogue),
      }),
    }),
  ],
})
export class ApiModule {
  /** The api with its settings, read from the environment now: a bad one throws ConfigurationError. */
  static async forRoot(): Promise<DynamicModule> {
    return { module: ApiModule, imports: [await SettingsModule.forRoot(apiEnvironment)] };
  }
}
