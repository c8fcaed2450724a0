import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema. A migration is a frozen snapshot: the status words are written out
 * here rather than imported, and a later change to them needs a new migration.
 */
export class Init1764500000000 implements MigrationInterface {
  name = 'Init1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statuses = `'queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'lost'`;

    await queryRunner.query(`
      CREATE TABLE operations (
        id uuid PRIMARY KEY,
        type text NOT NULL,
        target text NOT NULL,
        pool text NOT NULL,
        params jsonb NOT NULL DEFAULT '{}'::jsonb,
        status text NOT NULL CONSTRAINT ck_operations_status CHECK (status IN (${statuses})),
        reason text NULL,
        exit_code integer NULL,
        dispatcher_id text NULL,
        line_count bigint NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        dispatched_at timestamptz NULL,
        started_at timestamptz NULL,
        finished_at timestamptz NULL,
        heartbeat_at timestamptz NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_operations_created ON operations (created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_operations_status_created ON operations (status, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_operations_type_created ON operations (type, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_operations_target_created ON operations (target, created_at DESC, id DESC)`,
    );
    // The relay's search for dispatchers gone silent looks only at unfinished operations.
    await queryRunner.query(
      `CREATE INDEX ix_operations_active_heartbeat ON operations (heartbeat_at)
         WHERE status IN ('dispatched', 'running')`,
    );

    // updated_at follows every update without each writer having to remember it.
    await queryRunner.query(`
      CREATE FUNCTION aegir_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.updated_at := now();
        RETURN NEW;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER tg_operations_updated_at BEFORE UPDATE ON operations
        FOR EACH ROW EXECUTE FUNCTION aegir_touch_updated_at()`);

    await queryRunner.query(`
      CREATE TABLE tasks (
        id uuid PRIMARY KEY,
        operation_id uuid NOT NULL
          CONSTRAINT fk_tasks_operation REFERENCES operations (id) ON DELETE CASCADE,
        position integer NOT NULL CONSTRAINT ck_tasks_position CHECK (position >= 0),
        name text NOT NULL,
        runner text NOT NULL,
        status text NOT NULL CONSTRAINT ck_tasks_status CHECK (status IN (${statuses})),
        exit_code integer NULL,
        reason text NULL,
        started_at timestamptz NULL,
        finished_at timestamptz NULL,
        CONSTRAINT uq_tasks_operation_position UNIQUE (operation_id, position)
      )`);

    await queryRunner.query(`
      CREATE TABLE log_lines (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        operation_id uuid NOT NULL
          CONSTRAINT fk_log_lines_operation REFERENCES operations (id) ON DELETE CASCADE,
        task_id uuid NULL,
        seq bigint NOT NULL,
        stream text NOT NULL CONSTRAINT ck_log_lines_stream
          CHECK (stream IN ('stdout', 'stderr', 'system')),
        line text NOT NULL,
        emitted_at timestamptz NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_log_lines_operation_seq UNIQUE (operation_id, seq)
      )`);

    await queryRunner.query(`
      CREATE TABLE outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL CONSTRAINT ck_outbox_kind CHECK (kind IN ('dispatch', 'cancel')),
        operation_id uuid NOT NULL
          CONSTRAINT fk_outbox_operation REFERENCES operations (id) ON DELETE CASCADE,
        exchange text NOT NULL,
        routing_key text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        available_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_outbox_pending ON outbox (available_at, id) WHERE published_at IS NULL`,
    );
    // Serves the ON DELETE CASCADE from operations.
    await queryRunner.query(`CREATE INDEX ix_outbox_operation ON outbox (operation_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE outbox`);
    await queryRunner.query(`DROP TABLE log_lines`);
    await queryRunner.query(`DROP TABLE tasks`);
    await queryRunner.query(`DROP TABLE operations`);
    await queryRunner.query(`DROP FUNCTION aegir_touch_updated_at()`);
  }
}
