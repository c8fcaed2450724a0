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
