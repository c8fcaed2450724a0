import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 9, "nothing kept that need not be": a published outbox row keeps its bookkeeping
 * (published_at, attempts) but not its message, which held the operation's params. Rows
 * published before this migration lose theirs now, and the database refuses any other.
 */
export class OutboxPublishedPayload1764950000000 implements MigrationInterface {
  name = 'OutboxPublishedPayload1764950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE outbox SET payload = '{}'::jsonb WHERE published_at IS NOT NULL AND payload <> '{}'::jsonb`,
    );
    await queryRunner.query(
      `ALTER TABLE outbox ADD CONSTRAINT ck_outbox_published_payload
         CHECK (published_at IS NULL OR payload = '{}'::jsonb)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox DROP CONSTRAINT ck_outbox_published_payload`);
  }
}
