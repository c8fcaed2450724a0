import type { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import type { DatabaseSettings } from './database.settings';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { ParameterFreeLogger } from './query-logger';

/** The connection every app and the TypeORM CLI use. The schema comes from migrations only. */
export function dataSourceOptions(
  settings: Pick<DatabaseSettings, 'url' | 'poolSize'>,
  appName = 'aegir',
): PostgresConnectionOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    // never a query's parameters in a log
    logging: false,
    logger: new ParameterFreeLogger(),
    applicationName: appName,
    extra: { max: settings.poolSize },
  };
}

/** Applies the pending migrations, each in its own transaction; returns the names applied. */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const applied = await ds.runMigrations({ transaction: 'each' });
  return applied.map((migration) => migration.name);
}
