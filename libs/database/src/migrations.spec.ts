import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { OPERATION_STATUSES } from '@app/contracts';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { dataSourceOptions, runMigrations } from './data-source';

const TABLES = ['log_lines', 'operations', 'outbox', 'tasks'];

async function tables(ds: DataSource): Promise<string[]> {
  const rows: { table_name: string }[] = await ds.query(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY table_name`,
  );
  return rows.map((row) => row.table_name);
}

describe('migrations', () => {
  let db: TestDatabase;
  let ds: DataSource;

  before(async () => {
    db = await createTestDatabase('aegir_test_migrations', { migrate: false });
    ds = new DataSource(dataSourceOptions({ DATABASE_URL: db.url }, 'aegir-test'));
    await ds.initialize();
  });

  after(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('up creates the tables, once', async () => {
    assert.deepEqual(await tables(ds), []);
    assert.deepEqual(await runMigrations(ds), ['Init1764500000000']);
    assert.deepEqual(await tables(ds), TABLES);
    assert.deepEqual(await runMigrations(ds), []);
  });

  it('leaves nothing for the entities to change: they describe the same schema', async () => {
    const pending = await ds.driver.createSchemaBuilder().log();
    assert.deepEqual(
      pending.upQueries.map((query) => query.query),
      [],
    );
  });

  it('creates the listing and outbox indexes', async () => {
    const rows: { indexname: string; indexdef: string }[] = await ds.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'`,
    );
    const def = (name: string) => rows.find((row) => row.indexname === name)?.indexdef ?? '';
    assert.match(def('ix_operations_created'), /\(created_at DESC, id DESC\)/);
    assert.match(def('ix_operations_status_created'), /\(status, created_at DESC, id DESC\)/);
    assert.match(def('ix_operations_type_created'), /\(type, created_at DESC, id DESC\)/);
    assert.match(def('ix_operations_target_created'), /\(target, created_at DESC, id DESC\)/);
    assert.match(def('ix_outbox_pending'), /\(available_at, id\) WHERE \(published_at IS NULL\)/);
    assert.match(def('uq_log_lines_operation_seq'), /UNIQUE INDEX .*\(operation_id, seq\)/);
    assert.match(def('uq_tasks_operation_position'), /UNIQUE INDEX .*\(operation_id, "position"\)/);
  });

  it('accepts exactly the statuses of @app/contracts', async () => {
    for (const status of OPERATION_STATUSES) {
      await ds.query(
        `INSERT INTO operations (id, type, target, pool, params, status)
         VALUES ($1, 't', 'x', 'default', '{}', $2)`,
        [randomUUID(), status],
      );
    }
    await assert.rejects(
      ds.query(
        `INSERT INTO operations (id, type, target, pool, params, status)
         VALUES ($1, 't', 'x', 'default', '{}', 'finished')`,
        [randomUUID()],
      ),
      /ck_operations_status/,
    );
  });

  it('keeps updated_at current on every update', async () => {
    const id = randomUUID();
    await ds.query(
      `INSERT INTO operations (id, type, target, pool, params, status, updated_at)
       VALUES ($1, 't', 'x', 'default', '{}', 'queued', now() - interval '1 hour')`,
      [id],
    );
    await ds.query(`UPDATE operations SET status = 'running' WHERE id = $1`, [id]);
    const [row]: { age: number }[] = await ds.query(
      `SELECT extract(epoch FROM now() - updated_at)::float AS age FROM operations WHERE id = $1`,
      [id],
    );
    assert.ok(row.age < 60, `updated_at is ${row.age}s old`);
  });

  it('down drops everything up created', async () => {
    await ds.undoLastMigration({ transaction: 'each' });
    assert.deepEqual(await tables(ds), []);
    const [fn]: unknown[] = await ds.query(
      `SELECT 1 FROM pg_proc WHERE proname = 'aegir_touch_updated_at'`,
    );
    assert.equal(fn, undefined);
    // …and up works again after down.
    assert.deepEqual(await runMigrations(ds), ['Init1764500000000']);
    assert.deepEqual(await tables(ds), TABLES);
  });
});
