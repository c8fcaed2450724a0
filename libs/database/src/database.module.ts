import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { integerFromEnv } from '@app/platform';
import { dataSourceOptions } from './data-source';
import { OperationStateRepository } from './operation-state.repository';
import { OperationStore } from './operation-store';

export interface DatabaseModuleOptions {
  /** Shown as application_name in pg_stat_activity. */
  appName: string;
}

/**
 * The DataSource (via TypeOrmModule), the OperationStore and the OperationStateRepository,
 * for every module of an app.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...dataSourceOptions(process.env, options.appName),
            retryAttempts: integerFromEnv(process.env, 'DATABASE_CONNECT_RETRIES', 5, 0),
            retryDelay: 1000,
          }),
        }),
      ],
      providers: [OperationStore, OperationStateRepository],
      exports: [TypeOrmModule, OperationStore, OperationStateRepository],
    };
  }
}
