import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  ApiTokenRepository,
  AuditLog,
  DatabaseSettings,
  dataSourceOptions,
  OperationStateRepository,
  OperationStore,
} from '@app/database';
import { redactUrl } from '@app/platform';
import { DataSource } from 'typeorm';
import { CliError, describeError } from './cli-error';

/**
 * The database, opened on first use only: commands that do not need PostgreSQL
 * (help, broker set-up) run while it is down.
 */
@Injectable()
export class ConsoleDatabase implements OnModuleDestroy {
  private opening?: Promise<DataSource>;

  constructor(private readonly settings: DatabaseSettings) {}

  dataSource(): Promise<DataSource> {
    this.opening ??= this.open();
    return this.opening;
  }

  async store(): Promise<OperationStore> {
    const ds = await this.dataSource();
    return new OperationStore(ds, new OperationStateRepository(ds));
  }

  async tokens(): Promise<ApiTokenRepository> {
    return new ApiTokenRepository(await this.dataSource());
  }

  async auditLog(): Promise<AuditLog> {
    return new AuditLog(await this.dataSource());
  }

  async onModuleDestroy(): Promise<void> {
    const ds = await this.opening?.catch(() => undefined);
    if (ds?.isInitialized) await ds.destroy();
  }

  private async open(): Promise<DataSource> {
    const options = dataSourceOptions(this.settings, 'aegir-console');
    const ds = new DataSource({ ...options, connectTimeoutMS: 10_000 });
    try {
      await ds.initialize();
    } catch (error) {
      this.opening = undefined;
      const where = redactUrl(this.settings.url);
      throw new CliError(`cannot reach PostgreSQL at ${where}: ${describeError(error)}`);
    }
    return ds;
  }
}
