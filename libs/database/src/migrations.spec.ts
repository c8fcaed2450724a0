import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { OPERATION_STATUSES } from '@app/contracts';
import { DataSource } from 'typeorm';
import {
  createTestDatabase,
  testDataSourceOptions,
  type TestDatabase,
} from '../../../test/support/database';
import { runMigrations } from './data-source';
import { Init1764500000000 } from './migrations';

const TABLES = [
  'api_tokens',
  'audit_events',
  'dispatchers',
  'log_lines',
  'operations',
  'outbox',
  'tasks',
];
const TABLES_BEFORE_DISPATCHERS = TABLES.filter((table) => table !== 'dispatchers');
const TABLES_BEFORE_TOKENS = ['log_lines', 'operations', 'outbox', 'tasks'];

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
    ds = new DataSource(testDataSourceOptions(db.url));
    await ds.initialize();
  });

  after(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const ALL = [
    'Init1764500000000',
    'AttemptsCancelExclusive1764600000000',
    'LogLinesBulk1764700000000',
    'TokensAudit1764800000000',
    'OutboxPublishedPayload1764950000000',
    'Dispatchers1765000000000',
  ];
  const before2 = { id: randomUUID() };

  it('up creates the tables, once', async () => {
    assert.deepEqual(await tables(ds), []);
    // The first migration alone, with an operation and a log line written under it…
    const first = new DataSource({
      ...testDataSourceOptions(db.url),
      migrations: [Init1764500000000],
    });
    await first.initialize();
    try {
      assert.deepEqual(await runMigrations(first), ['Init1764500000000']);
      await first.query(
        `INSERT INTO operations (id, type, target, pool, params, status)
         VALUES ($1, 't', 'x', 'default', '{}', 'failed')`,
        [before2.id],
      );
      await first.query(
        `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at)
         VALUES ($1, 1, 'stdout', 'l', now())`,
        [before2.id],
      );
    } finally {
      await first.destroy();
    }
    // …then the rest.
    assert.deepEqual(await runMigrations(ds), ALL.slice(1));
    assert.deepEqual(await tables(ds), TABLES);
    assert.deepEqual(await runMigrations(ds), []);
  });

  it('gives rows written before migration 2 the defaults: attempt 1, exclusive, no retries', async () => {
    const [row]: Record<string, unknown>[] = await ds.query(
      `SELECT attempt, retry_of, retry_limit, retry_backoff_seconds, exclusive, lines_stored,
              cancel_requested_at
         FROM operations WHERE id = $1`,
      [before2.id],
    );
    assert.deepEqual(row, {
      attempt: 1,
      retry_of: null,
      retry_limit: 0,
      retry_backoff_seconds: 0,
      exclusive: true,
      lines_stored: null,
      cancel_requested_at: null,
    });
    const [line]: { continues: boolean }[] = await ds.query(
      `SELECT continues FROM log_lines WHERE operation_id = $1`,
      [before2.id],
    );
    assert.equal(line.continues, false);
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
    assert.match(def('pk_log_lines'), /UNIQUE INDEX .*\(operation_id, seq\)/);
    assert.match(def('uq_tasks_operation_position'), /UNIQUE INDEX .*\(operation_id, "position"\)/);
    assert.match(def('uq_operations_retry_of'), /UNIQUE INDEX .*\(retry_of\)/);
    assert.match(
      def('ix_operations_target_active'),
      /\(target, id\) WHERE \(\(status = ANY \(ARRAY\['queued'::text, 'dispatched'::text, 'running'::text\]\)\) AND exclusive\)/,
    );
  });

  it('retries an operation at most once, and keeps the retry when the original goes', async () => {
    const insert = (id: string, extra: string, values: unknown[] = []) =>
      ds.query(
        `INSERT INTO operations (id, type, target, pool, params, status${extra ? ', ' + extra : ''})
         VALUES ($1, 't', 'x', 'default', '{}', 'queued'${values.map((_, i) => `, $${i + 2}`).join('')})`,
        [id, ...values],
      );
    const original = randomUUID();
    const retry = randomUUID();
    await insert(original, '');
    await insert(retry, 'attempt, retry_of', [2, original]);
    await assert.rejects(
      insert(randomUUID(), 'attempt, retry_of', [2, original]),
      /uq_operations_retry_of/,
    );
    await assert.rejects(
      insert(randomUUID(), 'retry_of', [randomUUID()]),
      /fk_operations_retry_of/,
    );
    await assert.rejects(insert(randomUUID(), 'attempt', [0]), /ck_operations_attempt/);
    await assert.rejects(insert(randomUUID(), 'retry_limit', [-1]), /ck_operations_retry_limit/);
    await assert.rejects(
      insert(randomUUID(), 'retry_backoff_seconds', [-1]),
      /ck_operations_retry_backoff/,
    );
    await ds.query(`DELETE FROM operations WHERE id = $1`, [original]);
    const [row]: { retry_of: string | null }[] = await ds.query(
      `SELECT retry_of FROM operations WHERE id = $1`,
      [retry],
    );
    assert.deepEqual(row, { retry_of: null });
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

  const columns = async (table: string): Promise<string[]> =>
    (
      await ds.query<{ column_name: string }[]>(
        `SELECT column_name FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = $1 ORDER BY column_name`,
        [table],
      )
    ).map((row) => row.column_name);

  it('keeps token names unique, roles and audit outcomes to their words', async () => {
    const token = (name: string, role: string) =>
      ds.query(`INSERT INTO api_tokens (id, name, role, hash) VALUES ($1, $2, $3, 'h')`, [
        randomUUID(),
        name,
        role,
      ]);
    await token('ci', 'operator');
    await assert.rejects(token('ci', 'viewer'), /uq_api_tokens_name/);
    await assert.rejects(token('root', 'root'), /ck_api_tokens_role/);
    await ds.query(
      `INSERT INTO audit_events (actor, action, outcome) VALUES ('console:x', 'token.create', 'ok')`,
    );
    await assert.rejects(
      ds.query(`INSERT INTO audit_events (actor, action, outcome) VALUES ('a', 'b', 'maybe')`),
      /ck_audit_events_outcome/,
    );
    const [event]: { at: Date; detail: object; operation_id: null }[] = await ds.query(
      `SELECT at, detail, operation_id FROM audit_events`,
    );
    assert.deepEqual([event.detail, event.operation_id], [{}, null]);
    assert.ok(event.at instanceof Date);
    await ds.query(`DELETE FROM audit_events`);
    await ds.query(`DELETE FROM api_tokens`);
  });

  it('keeps one row per dispatcher of a pool: the same id in another pool is another dispatcher', async () => {
    const seen = (pool: string, id: string) =>
      ds.query(
        `INSERT INTO dispatchers (pool, dispatcher_id, operations, concurrency, first_seen_at,
                                  last_seen_at, silent_after)
         VALUES ($1, $2, ARRAY[$3]::uuid[], 4, now(), now(), now() + interval '1 minute')`,
        [pool, id, randomUUID()],
      );
    await seen('default', 'd-1');
    await seen('other', 'd-1');
    await assert.rejects(seen('default', 'd-1'), /duplicate key value violates unique constraint/);
    await assert.rejects(
      ds.query(
        `INSERT INTO dispatchers (pool, dispatcher_id, operations, first_seen_at, last_seen_at,
                                  silent_after)
         VALUES ('default', 'd-2', NULL, now(), now(), now())`,
      ),
      /null value in column "operations"/,
    );
    const rows: { pool: string; operations: string[] }[] = await ds.query(
      `SELECT pool, operations FROM dispatchers ORDER BY pool`,
    );
    assert.deepEqual(
      rows.map((row) => [row.pool, row.operations.length]),
      [
        ['default', 1],
        ['other', 1],
      ],
    );
  });

  it('down drops everything up created, one migration at a time', async () => {
    await ds.undoLastMigration({ transaction: 'each' });
    assert.deepEqual(await tables(ds), TABLES_BEFORE_DISPATCHERS);
    await ds.undoLastMigration({ transaction: 'each' });
    const [payloadCheck]: unknown[] = await ds.query(
      `SELECT 1 FROM pg_constraint WHERE conname = 'ck_outbox_published_payload'`,
    );
    assert.equal(payloadCheck, undefined);
    await ds.undoLastMigration({ transaction: 'each' });
    assert.deepEqual(await tables(ds), TABLES_BEFORE_TOKENS);
    const actors = await columns('operations');
    for (const gone of ['created_by', 'cancelled_by', 'retried_by']) {
      assert.ok(!actors.includes(gone), `${gone} is still there`);
    }
    await ds.undoLastMigration({ transaction: 'each' });
    assert.ok((await columns('log_lines')).includes('id'));
    const [trigger]: unknown[] = await ds.query(
      `SELECT 1 FROM pg_trigger WHERE tgname = 'trg_operations_delete_lines'`,
    );
    assert.equal(trigger, undefined);
    await ds.undoLastMigration({ transaction: 'each' });
    assert.deepEqual(await tables(ds), TABLES_BEFORE_TOKENS);
    const operationColumns = await columns('operations');
    for (const gone of [
      'attempt',
      'retry_of',
      'exclusive',
      'lines_stored',
      'cancel_requested_at',
    ]) {
      assert.ok(!operationColumns.includes(gone), `${gone} is still there`);
    }
    assert.ok(!(await columns('log_lines')).includes('continues'));
    await ds.undoLastMigration({ transaction: 'each' });
    assert.deepEqual(await tables(ds), []);
    const [fn]: unknown[] = await ds.query(
      `SELECT 1 FROM pg_proc WHERE proname = 'aegir_touch_updated_at'`,
    );
    assert.equal(fn, undefined);
    // …and up works again after down.
    assert.deepEqual(await runMigrations(ds), ALL);
    assert.deepEqual(await tables(ds), TABLES);
  });
});
