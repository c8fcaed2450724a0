import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 9, "only who may": api tokens with a role and an optional scope (only the SHA-256 of
 * a token's secret is kept), the audit trail of every change and every refused request, and
 * who created, cancelled or retried each operation.
 */
export class TokensAudit1764800000000 implements MigrationInterface {
  name = 'TokensAudit1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY,
        name text NOT NULL CONSTRAINT uq_api_tokens_name UNIQUE,
        role text NOT NULL
          CONSTRAINT ck_api_tokens_role CHECK (role IN ('viewer', 'operator', 'admin')),
        types text NULL,
        targets text NULL,
        hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NULL,
        revoked_at timestamptz NULL,
        last_used_at timestamptz NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_events (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        action text NOT NULL,
        outcome text NOT NULL CONSTRAINT ck_audit_events_outcome CHECK (outcome IN ('ok', 'refused')),
        operation_id uuid NULL,
        source text NULL,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    // No foreign key: the trail outlives operations, and a refused request may name an id
    // that never existed.
    await queryRunner.query(`CREATE INDEX ix_audit_events_actor ON audit_events (actor, id DESC)`);
    await queryRunner.query(
      `CREATE INDEX ix_audit_events_action ON audit_events (action, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_audit_events_operation ON audit_events (operation_id, id DESC)
         WHERE operation_id IS NOT NULL`,
    );
    await queryRunner.query(`
      ALTER TABLE operations
        ADD COLUMN created_by text NULL,
        ADD COLUMN cancelled_by text NULL,
        ADD COLUMN retried_by text NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE operations
        DROP COLUMN retried_by,
        DROP COLUMN cancelled_by,
        DROP COLUMN created_by`);
    await queryRunner.query(`DROP TABLE audit_events`);
    await queryRunner.query(`DROP TABLE api_tokens`);
  }
}
