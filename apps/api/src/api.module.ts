import { Module, ValidationPipe, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { CatalogueModule } from '@app/catalogue';
import { DatabaseModule } from '@app/database';
import { loggingModule, SettingsModule } from '@app/platform';
import { apiEnvironment } from './api.environment';
import { BadInputFilter } from './bad-input.filter';
import { CatalogueController } from './catalogue.controller';
import { ConflictFilter } from './conflict.filter';
import { OperationSealer } from './operations/operation-sealer';
import { OperationsController } from './operations/operations.controller';

/** The REST api. It holds PostgreSQL credentials only: nothing here reaches the broker. */
@Module({
  imports: [
    loggingModule('aegir-api'),
    DatabaseModule.forRoot({ appName: 'aegir-api' }),
    CatalogueModule.forRoot(),
  ],
  controllers: [OperationsController, CatalogueController],
  providers: [
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
  ],
})
export class ApiModule {
  /** The api with its settings, read from the environment now: a bad one throws ConfigurationError. */
  static async forRoot(): Promise<DynamicModule> {
    return { module: ApiModule, imports: [await SettingsModule.forRoot(apiEnvironment)] };
  }
}
