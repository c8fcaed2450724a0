import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiTokenRepository, AuditLog } from './access';
import { dataSourceOptions } from './data-source';
import { DatabaseSettings } from './database.settings';
import { DispatcherStore } from './dispatcher-store';
import { OperationStateRepository } from './operation-state.repository';
import { OperationStore } from './operation-store';

export interface DatabaseModuleOptions {
  /** Shown as application_name in pg_stat_activity. */
  appName: string;
}

/**
 * The DataSource (via TypeOrmModule), the OperationStore, the OperationStateRepository, the
 * DispatcherStore, the ApiTokenRepository and the AuditLog, for every module of an app; the connection comes from the app's DatabaseSettings.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [DatabaseSettings],
          useFactory: (settings: DatabaseSettings) => ({
            ...dataSourceOptions(settings, options.appName),
            retryAttempts: settings.connectRetries,
            retryDelay: 1000,
          }),
        }),
      ],
      providers: [
        OperationStore,
        OperationStateRepository,
        DispatcherStore,
        ApiTokenRepository,
        AuditLog,
      ],
      exports: [
        TypeOrmModule,
        OperationStore,
        OperationStateRepository,
        DispatcherStore,
        ApiTokenRepository,
        AuditLog,
      ],
    };
  }
}
