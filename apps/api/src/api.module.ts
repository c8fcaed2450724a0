import { Module, RequestMethod, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { CatalogueModule } from '@app/catalogue';
import { DatabaseModule } from '@app/database';
import { BadInputFilter } from './bad-input.filter';
import { CatalogueController } from './catalogue.controller';
import { apiConfigFromEnv } from './config';
import { OperationsController } from './operations/operations.controller';

/** The REST api. It holds PostgreSQL credentials only: nothing here reaches the broker. */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      useFactory: () => ({
        pinoHttp: {
          level: apiConfigFromEnv().logLevel,
          autoLogging: true,
          redact: ['req.headers.authorization', 'req.headers.cookie'],
        },
        // Named wildcard: the default '*' makes Nest 11 warn about legacy route syntax.
        forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
      }),
    }),
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
  ],
})
export class ApiModule {}
