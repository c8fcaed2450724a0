import { Injectable, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DatabaseSettings } from '@app/database';
import { SettingsModule } from '@app/platform';
import { InjectCommander } from 'nest-commander';
import { BrokerAdmin, ManagementApi } from './broker/broker-admin';
import { BrokerSetupSettings } from './broker/broker-setup.settings';
import { BrokerSetupCommand } from './commands/broker-setup.command';
import { CatalogueListCommand } from './commands/catalogue-list.command';
import { CatalogueValidateCommand } from './commands/catalogue-validate.command';
import { DbMigrateCommand } from './commands/db-migrate.command';
import { DemoCommand } from './commands/demo.command';
import { DlqListCommand } from './commands/dlq-list.command';
import { DlqPurgeCommand } from './commands/dlq-purge.command';
import { DlqReplayCommand } from './commands/dlq-replay.command';
import { DoctorCommand } from './commands/doctor.command';
import { KeysCreateCommand } from './commands/keys-create.command';
import { OpCancelCommand } from './commands/op-cancel.command';
import { OpCreateCommand } from './commands/op-create.command';
import { OpListCommand } from './commands/op-list.command';
import { OpLogCommand } from './commands/op-log.command';
import { OpRetryCommand } from './commands/op-retry.command';
import { OpShowCommand } from './commands/op-show.command';
import { OpWaitCommand } from './commands/op-wait.command';
import { SetupLocalCommand } from './commands/setup-local.command';
import { AuditCommand } from './commands/audit.command';
import { TokenCreateCommand } from './commands/token-create.command';
import { TokenListCommand } from './commands/token-list.command';
import { TokenRevokeCommand } from './commands/token-revoke.command';
import { WorkersCommand } from './commands/workers.command';
import { ConsoleAudit } from './console-audit';
import { ConsoleCatalogue } from './console-catalogue';
import { ConsoleDatabase } from './console-database';
import { ConsoleSealer } from './console-sealer';
import { consoleEnvironment } from './console.environment';
import { ApiClientSettings } from './live-log/api-client.settings';
import { Doctor } from './doctor/doctor';
import { LogFollower } from './live-log/log-follower';
import { ApiWorkersSource, DatabaseWorkersSource, WorkersSource } from './workers-source';
import { DatabaseOperations } from './operations/database-operations';
import { HttpOperations } from './operations/http-operations';
import { Operations } from './operations/operations';
import { ApiClient } from './remote/api-client';

/** Names the program `aegir` in help and error output (commander would say `main`). */
@Injectable()
export class ProgramName {
  constructor(@InjectCommander() commander: { name(name: string): unknown }) {
    commander.name('aegir');
  }
}

/** Every command of the CLI. Add a new one here. */
export const COMMANDS: Provider[] = [
  DbMigrateCommand,
  BrokerSetupCommand,
  KeysCreateCommand,
  DemoCommand,
  OpCreateCommand,
  OpListCommand,
  OpShowCommand,
  OpLogCommand,
  OpCancelCommand,
  OpRetryCommand,
  OpWaitCommand,
  CatalogueListCommand,
  CatalogueValidateCommand,
  DlqListCommand,
  DlqReplayCommand,
  DlqPurgeCommand,
  DoctorCommand,
  SetupLocalCommand,
  TokenCreateCommand,
  TokenListCommand,
  TokenRevokeCommand,
  AuditCommand,
  WorkersCommand,
];

/**
 * Nothing here connects at start-up: ConsoleDatabase and ConsoleCatalogue open on first
 * use, so commands that need neither run while PostgreSQL is down. `ApiClient` is the api
 * (AEGIR_API_URL, AEGIR_API_TOKEN) for any command that reads it (`get<T>(path, query)`).
 */
@Module({
  providers: [
    ProgramName,
    ConsoleDatabase,
    ConsoleCatalogue,
    ConsoleAudit,
    ConsoleSealer,
    LogFollower,
    DatabaseWorkersSource,
    {
      provide: WorkersSource,
      inject: [ApiClient, DatabaseWorkersSource],
      useFactory: (api: ApiClient, db: DatabaseWorkersSource): WorkersSource =>
        api.configured ? new ApiWorkersSource(api) : db,
    },
    {
      provide: ApiClient,
      inject: [ApiClientSettings],
      useFactory: (settings: ApiClientSettings) => new ApiClient(settings),
    },
    {
      // Chosen once: the api when AEGIR_API_URL is set, else the local database and catalogue.
      provide: Operations,
      inject: [
        ApiClient,
        LogFollower,
        ConsoleDatabase,
        ConsoleCatalogue,
        ConsoleAudit,
        ConsoleSealer,
        DatabaseSettings,
      ],
      useFactory: (
        api: ApiClient,
        follower: LogFollower,
        db: ConsoleDatabase,
        catalogue: ConsoleCatalogue,
        audit: ConsoleAudit,
        sealer: ConsoleSealer,
        database: DatabaseSettings,
      ): Operations =>
        api.configured
          ? new HttpOperations(api, follower)
          : new DatabaseOperations(db, catalogue, audit, sealer, follower, database),
    },
    Doctor,
    {
      provide: BrokerAdmin,
      inject: [BrokerSetupSettings],
      useFactory: (settings: BrokerSetupSettings) =>
        new ManagementApi(settings.adminUrl, settings.adminTimeoutMs),
    },
    ...COMMANDS,
  ],
})
export class ConsoleModule {
  /** The CLI with its settings, read from the environment now: a bad one throws ConfigurationError. */
  static async forRoot(): Promise<DynamicModule> {
    return { module: ConsoleModule, imports: [await SettingsModule.forRoot(consoleEnvironment)] };
  }
}
