import { randomBytes } from 'node:crypto';
import { DatabaseSettings, dataSourceOptions, runMigrations } from '@app/database';
import { readSettings } from '@app/platform';
import { Client } from 'pg';
import { DataSource } from 'typeorm';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const adminUrl = (): string =>
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl(), application_name: 'aegir-test' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** What the apps would connect with, given only DATABASE_URL. */
export function testDataSourceOptions(url: string): ReturnType<typeof dataSourceOptions> {
  return dataSourceOptions(readSettings(DatabaseSettings, { DATABASE_URL: url }), 'aegir-test');
}

/** A fresh, migrated database of its own for one test file; drop() removes it. */
export async function createTestDatabase(
  prefix = 'aegir_test',
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`bad database prefix ${prefix}`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;

  const drop = async (): Promise<void> => {
    await admin(async (client) => {
      await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [name],
      );
      await client.query(`DROP DATABASE IF EXISTS "${name}"`);
    });
  };

  if (options.migrate !== false) {
    const ds = new DataSource(testDataSourceOptions(url.toString()));
    try {
      await ds.initialize();
      await runMigrations(ds);
    } catch (error) {
      if (ds.isInitialized) await ds.destroy().catch(() => undefined);
      await drop();
      throw error;
    }
    await ds.destroy();
  }
  return { name, url: url.toString(), drop };
}

/** A migrated test database with an open DataSource on it; close() destroys both. */
export async function openTestDataSource(
  prefix: string,
): Promise<{ db: TestDatabase; ds: DataSource; close: () => Promise<void> }> {
  const db = await createTestDatabase(prefix);
  const ds = new DataSource(testDataSourceOptions(db.url));
  await ds.initialize();
  return {
    db,
    ds,
    close: async () => {
      if (ds.isInitialized) await ds.destroy();
      await db.drop();
    },
  };
}
