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
