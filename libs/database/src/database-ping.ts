import { Client } from 'pg';

/** Resolves once PostgreSQL at `url` accepts a connection and answers `SELECT 1`. */
export async function pingDatabase(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'aegir-health',
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The readiness check of an app's own pool (`/health/ready`): one `SELECT 1` on a pooled
 * connection. Fails while PostgreSQL does not answer, however the pool came to lose it.
 */
export async function databaseAnswers(dataSource: {
  isInitialized: boolean;
  query(sql: string): Promise<unknown>;
}): Promise<void> {
  if (!dataSource.isInitialized) throw new Error('not connected yet');
  await dataSource.query('SELECT 1');
}
