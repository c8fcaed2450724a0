import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 3, "nothing lost, nothing stuck": attempts and retries, cancel requests, one at a time
 * per target, completeness of the stored log, and pieces of long lines.
 */
export class AttemptsCancelExclusive1764600000000 implements MigrationInterface {
  name = 'AttemptsCancelExclusive1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE operations
        ADD COLUMN attempt integer NOT NULL DEFAULT 1
          CONSTRAINT ck_operations_attempt CHECK (attempt >= 1),
        ADD COLUMN retry_of uuid NULL
          CONSTRAINT fk_operations_retry_of REFERENCES operations (id) ON DELETE SET NULL,
        ADD COLUMN retry_limit integer NOT NULL DEFAULT 0
          CONSTRAINT ck_operations_retry_limit CHECK (retry_limit >= 0),
        ADD COLUMN retry_backoff_seconds integer NOT NULL DEFAULT 0
          CONSTRAINT ck_operations_retry_backoff CHECK (retry_backoff_seconds >= 0),
        ADD COLUMN exclusive boolean NOT NULL DEFAULT true,
        ADD COLUMN lines_stored bigint NULL,
        ADD COLUMN cancel_requested_at timestamptz NULL`);
    // An operation is retried at most once; to go on, the retry is retried: a chain of attempts.
    await queryRunner.query(
      `CREATE UNIQUE INDEX uq_operations_retry_of ON operations (retry_of) WHERE retry_of IS NOT NULL`,
    );
    // The relay's check before dispatching: is another exclusive operation active on the target?
    await queryRunner.query(
      `CREATE INDEX ix_operations_target_active ON operations (target, id)
         WHERE status IN ('queued', 'dispatched', 'running') AND exclusive`,
    );
    await queryRunner.query(
      `ALTER TABLE log_lines ADD COLUMN continues boolean NOT NULL DEFAULT false`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE log_lines DROP COLUMN continues`);
    await queryRunner.query(`DROP INDEX ix_operations_target_active`);
    await queryRunner.query(`DROP INDEX uq_operations_retry_of`);
    await queryRunner.query(`
      ALTER TABLE operations
        DROP COLUMN cancel_requested_at,
        DROP COLUMN lines_stored,
        DROP COLUMN exclusive,
        DROP COLUMN retry_backoff_seconds,
        DROP COLUMN retry_limit,
        DROP COLUMN retry_of,
        DROP COLUMN attempt`);
  }
}
