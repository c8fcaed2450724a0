import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 10, `aegir workers`: the dispatchers seen by heartbeat, one row each, upserted by the
 * relay in the statement that applies a batch's heartbeats. A dispatcher is named by its pool
 * and its id (its control queue is `aegir.control.<pool>.<id>`), so the user of one pool can
 * never write over a dispatcher of another.
 */
export class Dispatchers1765000000000 implements MigrationInterface {
  name = 'Dispatchers1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE dispatchers (
        pool text NOT NULL,
        dispatcher_id text NOT NULL,
        operations uuid[] NOT NULL,
        concurrency integer NULL,
        first_seen_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        silent_after timestamptz NOT NULL,
        PRIMARY KEY (pool, dispatcher_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE dispatchers`);
  }
}
