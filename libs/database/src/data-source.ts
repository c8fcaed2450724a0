import type { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { integerFromEnv } from '@app/platform';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/aegir';

/** The connection every app and the TypeORM CLI use. The schema comes from migrations only. */
export function dataSourceOptions(
  env: NodeJS.ProcessEnv = process.env,
  appName = 'aegir',
): PostgresConnectionOptions {
  return {
    type: 'postgres',
    url: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    applicationName: appName,
    extra: { max: integerFromEnv(env, 'DATABASE_POOL_SIZE', 10, 1) },
  };
}

/** Applies the pending migrations, each in its own transaction; returns the names applied. */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const applied = await ds.runMigrations({ transaction: 'each' });
  return applied.map((migration) => migration.name);
}
