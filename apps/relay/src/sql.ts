import type { EntityManager } from 'typeorm';

/**
 * Runs an UPDATE … RETURNING and gives back its rows. (TypeORM answers an UPDATE with
 * `[rows, affectedCount]`, not with the rows alone.)
 */
export async function updateReturning<T>(
  manager: Pick<EntityManager, 'query'>,
  sql: string,
  parameters: unknown[],
): Promise<T[]> {
  const [rows] = await manager.query<[T[], number]>(sql, parameters);
  return rows;
}
