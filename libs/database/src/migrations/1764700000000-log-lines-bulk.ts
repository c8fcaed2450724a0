import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 4, "fast": log_lines takes rows at bulk speed. Measured with COPY of 400 000 rows on
 * one connection, the per-row foreign-key check halved the rate and the identity key with its
 * index cost a third of what was left. So `(operation_id, seq)`, the key every write and read
 * already uses, becomes the primary key; the relay checks (and key-share locks) the operations
 * of each batch once, instead of once per row; deleting an operation still deletes its lines,
 * by a statement trigger.
 */
export class LogLinesBulk1764700000000 implements MigrationInterface {
  name = 'LogLinesBulk1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE log_lines
        DROP CONSTRAINT fk_log_lines_operation,
        DROP CONSTRAINT log_lines_pkey,
        DROP COLUMN id,
        DROP CONSTRAINT uq_log_lines_operation_seq,
        ADD CONSTRAINT pk_log_lines PRIMARY KEY (operation_id, seq)`);
    await queryRunner.query(`
      CREATE FUNCTION aegir_delete_operation_lines() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM log_lines l USING deleted_operations d WHERE l.operation_id = d.id;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER trg_operations_delete_lines AFTER DELETE ON operations
        REFERENCING OLD TABLE AS deleted_operations
        FOR EACH STATEMENT EXECUTE FUNCTION aegir_delete_operation_lines()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER trg_operations_delete_lines ON operations`);
    await queryRunner.query(`DROP FUNCTION aegir_delete_operation_lines()`);
    await queryRunner.query(
      `ALTER TABLE log_lines DROP CONSTRAINT pk_log_lines,
         ADD CONSTRAINT uq_log_lines_operation_seq UNIQUE (operation_id, seq)`,
    );
    await queryRunner.query(
      `ALTER TABLE log_lines ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`,
    );
    await queryRunner.query(
      `DELETE FROM log_lines l WHERE NOT EXISTS (SELECT 1 FROM operations o WHERE o.id = l.operation_id)`,
    );
    await queryRunner.query(`
      ALTER TABLE log_lines ADD CONSTRAINT fk_log_lines_operation
        FOREIGN KEY (operation_id) REFERENCES operations (id) ON DELETE CASCADE`);
  }
}
