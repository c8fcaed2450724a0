import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { OperationPlan } from '@app/catalogue';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { OUTBOX_CHANNEL } from './channels';
import { BadCursorError, encodeCursor } from './cursor';
import { dataSourceOptions } from './data-source';
import { OperationStore } from './operation-store';
import type { OperationView } from './views';

function plan(overrides: Partial<OperationPlan> = {}): OperationPlan {
  return {
    type: 'demo.hello',
    pool: 'default',
    target: 'localhost',
    params: { greeting: 'hi' },
    tasks: [
      { name: 'prepare', runner: 'command' },
      { name: 'hello', runner: 'ansible-playbook' },
    ],
    ...overrides,
  };
}

describe('OperationStore', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: OperationStore;

  before(async () => {
    db = await createTestDatabase('aegir_test_store');
    ds = new DataSource(dataSourceOptions({ DATABASE_URL: db.url }, 'aegir-test'));
    await ds.initialize();
    store = new OperationStore(ds);
  });

  after(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const count = async (table: string): Promise<number> => {
    const [row]: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM ${table}`);
    return row.n;
  };

  describe('create', () => {
    it('writes the operation, its tasks and a dispatch outbox row in one transaction', async () => {
      const view = await store.create(plan({ pool: 'web' }));

      assert.equal(view.status, 'queued');
      assert.equal(view.type, 'demo.hello');
      assert.equal(view.pool, 'web');
      assert.deepEqual(view.params, { greeting: 'hi' });
      assert.ok(!Number.isNaN(Date.parse(view.createdAt)));
      assert.equal(view.durationMs, null);
      assert.deepEqual(
        view.tasks?.map((t) => [t.position, t.name, t.runner, t.status]),
        [
          [0, 'prepare', 'command', 'queued'],
          [1, 'hello', 'ansible-playbook', 'queued'],
        ],
      );

      const [op]: { status: string; xmin: string }[] = await ds.query(
        `SELECT status, xmin::text FROM operations WHERE id = $1`,
        [view.id],
      );
      assert.equal(op.status, 'queued');
      const tasks: { id: string; position: number; xmin: string }[] = await ds.query(
        `SELECT id, position, xmin::text FROM tasks WHERE operation_id = $1 ORDER BY position`,
        [view.id],
      );
      assert.equal(tasks.length, 2);
      const outbox: {
        kind: string;
        exchange: string;
        routing_key: string;
        payload: Record<string, unknown>;
        published_at: Date | null;
        attempts: number;
        xmin: string;
      }[] = await ds.query(
        `SELECT kind, exchange, routing_key, payload, published_at, attempts, xmin::text
           FROM outbox WHERE operation_id = $1`,
        [view.id],
      );
      assert.equal(outbox.length, 1);
      const [row] = outbox;
      assert.equal(row.kind, 'dispatch');
      assert.equal(row.exchange, 'aegir.dispatch');
      assert.equal(row.routing_key, 'web');
      assert.equal(row.published_at, null);
      assert.equal(row.attempts, 0);
      assert.deepEqual(row.payload, {
        v: 1,
        kind: 'dispatch',
        operationId: view.id,
        type: 'demo.hello',
        target: 'localhost',
        params: { greeting: 'hi' },
        tasks: tasks.map((t, i) => ({ id: t.id, name: ['prepare', 'hello'][i] })),
        sentAt: row.payload.sentAt,
      });
      assert.ok(!Number.isNaN(Date.parse(String(row.payload.sentAt))));
      // The same transaction id wrote every row.
      assert.deepEqual(
        new Set([op.xmin, row.xmin, ...tasks.map((t) => t.xmin)]),
        new Set([op.xmin]),
      );
    });

    it('wakes the relay with a NOTIFY on the outbox channel', async () => {
      const listener = new Client({ connectionString: db.url });
      await listener.connect();
      try {
        await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
        const notified = new Promise<string>((resolve) =>
          listener.once('notification', (n) => resolve(n.channel)),
        );
        await store.create(plan());
        const channel = await Promise.race([
          notified,
          new Promise((_, reject) => setTimeout(() => reject(new Error('no NOTIFY')), 2000)),
        ]);
        assert.equal(channel, 'aegir_outbox');
      } finally {
        await listener.end();
      }
    });

    it('writes nothing when any insert fails', async () => {
      const before = await Promise.all(['operations', 'tasks', 'outbox'].map(count));
      // A task without a name breaks the tasks insert, after the operation insert.
      const broken = plan({ tasks: [{ name: null as unknown as string, runner: 'command' }] });
      await assert.rejects(store.create(broken));
      assert.deepEqual(await Promise.all(['operations', 'tasks', 'outbox'].map(count)), before);
    });
  });

  describe('list', () => {
    const created: OperationView[] = [];

    before(async () => {
      await ds.query(`DELETE FROM operations`);
      for (let i = 0; i < 5; i++) {
        created.push(
          await store.create(
            plan({ type: i % 2 ? 'test.echo' : 'demo.hello', target: i < 3 ? 'web1' : 'web2' }),
          ),
        );
      }
      await ds.query(`UPDATE operations SET status = 'running' WHERE id = $1`, [created[1].id]);
    });

    it('pages newest first, every operation exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.list({ limit: 2, cursor });
        assert.ok(page.items.length <= 2);
        assert.equal(page.items[0]?.tasks, undefined);
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen, created.map((op) => op.id).reverse());
    });

    it('says there is no next page when the last page is exactly full', async () => {
      const page = await store.list({ limit: 5 });
      assert.equal(page.items.length, 5);
      assert.equal(page.nextCursor, null);
    });

    it('filters by status, type and target', async () => {
      const ids = async (filter: Parameters<OperationStore['list']>[0]) =>
        (await store.list(filter)).items.map((item) => item.id);
      assert.deepEqual(await ids({ limit: 50, status: 'running' }), [created[1].id]);
      assert.deepEqual(await ids({ limit: 50, type: 'test.echo' }), [created[3].id, created[1].id]);
      assert.deepEqual(await ids({ limit: 50, target: 'web2' }), [created[4].id, created[3].id]);
      assert.deepEqual(await ids({ limit: 50, target: 'web1', type: 'demo.hello' }), [
        created[2].id,
        created[0].id,
      ]);
      assert.deepEqual(await ids({ limit: 50, status: 'failed' }), []);
      const page = await store.list({ limit: 1, type: 'demo.hello' });
      assert.ok(page.nextCursor);
      assert.deepEqual(await ids({ limit: 5, type: 'demo.hello', cursor: page.nextCursor }), [
        created[2].id,
        created[0].id,
      ]);
    });

    it('keeps rows created in the same microsecond apart by id', async () => {
      await ds.query(`DELETE FROM operations`);
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of ids) {
        await ds.query(
          `INSERT INTO operations (id, type, target, pool, params, status, created_at)
           VALUES ($1, 't', 'x', 'default', '{}', 'queued', '2025-01-01T00:00:00.123456Z')`,
          [id],
        );
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ limit: 1, cursor });
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor && seen.length < 10);
      assert.deepEqual(seen, [...ids].sort().reverse());
    });

    it('refuses a cursor that does not decode', async () => {
      for (const cursor of [
        'garbage!',
        Buffer.from('{"a":1}').toString('base64url'),
        encodeCursor({ createdAt: '2025-02-30T00:00:00.000000Z', id: randomUUID() }),
        encodeCursor({ createdAt: '2025-01-01T00:00:00.000000Z', id: 'not-a-uuid' }),
      ]) {
        await assert.rejects(store.list({ limit: 1, cursor }), BadCursorError, cursor);
      }
    });
  });

  describe('get', () => {
    it('returns the operation with its tasks in position order', async () => {
      const created = await store.create(
        plan({
          tasks: ['a', 'b', 'c'].map((name) => ({ name, runner: 'command' as const })),
        }),
      );
      await ds.query(
        `UPDATE tasks SET status = 'succeeded', exit_code = 0,
                started_at = '2025-01-01T00:00:00Z', finished_at = '2025-01-01T00:00:01.5Z'
          WHERE operation_id = $1 AND position = 0`,
        [created.id],
      );
      await ds.query(
        `UPDATE operations SET status = 'running', line_count = 42, started_at = now()
          WHERE id = $1`,
        [created.id],
      );
      const view = await store.get(created.id);
      assert.ok(view);
      assert.equal(view.status, 'running');
      assert.equal(view.lineCount, 42);
      assert.deepEqual(
        view.tasks?.map((t) => t.name),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(view.tasks?.[0], {
        ...view.tasks?.[0],
        status: 'succeeded',
        exitCode: 0,
        startedAt: '2025-01-01T00:00:00.000Z',
        finishedAt: '2025-01-01T00:00:01.500Z',
        durationMs: 1500,
      });
      assert.equal(view.tasks?.[1].durationMs, null);
      assert.deepEqual(await store.progress(created.id), { status: 'running', lineCount: 42 });
    });

    it('returns null for an unknown or malformed id', async () => {
      assert.equal(await store.get(randomUUID()), null);
      assert.equal(await store.get('nope'), null);
      assert.equal(await store.progress(randomUUID()), null);
    });
  });

  describe('logAfter', () => {
    let id: string;
    let taskId: string;

    before(async () => {
      const view = await store.create(plan());
      id = view.id;
      taskId = view.tasks![0].id;
      // Written out of order, as concurrent relay batches could.
      for (const [seq, stream] of [
        [3, 'stderr'],
        [1, 'stdout'],
        [2, 'system'],
      ] as const) {
        await ds.query(
          `INSERT INTO log_lines (operation_id, task_id, seq, stream, line, emitted_at)
           VALUES ($1, $2, $3, $4, $5, '2025-01-01T00:00:00Z')`,
          [id, seq === 2 ? null : taskId, seq, stream, `line ${seq}`],
        );
      }
    });

    it('reads lines after a seq, in seq order', async () => {
      assert.deepEqual(await store.logAfter(id, 0, 100), [
        { seq: 1, taskId, stream: 'stdout', text: 'line 1', at: '2025-01-01T00:00:00.000Z' },
        { seq: 2, taskId: null, stream: 'system', text: 'line 2', at: '2025-01-01T00:00:00.000Z' },
        { seq: 3, taskId, stream: 'stderr', text: 'line 3', at: '2025-01-01T00:00:00.000Z' },
      ]);
      assert.deepEqual(
        (await store.logAfter(id, 1, 100))?.map((l) => l.seq),
        [2, 3],
      );
      assert.deepEqual(
        (await store.logAfter(id, 0, 2))?.map((l) => l.seq),
        [1, 2],
      );
      assert.deepEqual(await store.logAfter(id, 3, 100), []);
    });

    it('returns null for an operation that does not exist', async () => {
      assert.equal(await store.logAfter(randomUUID(), 0, 10), null);
    });

    it('returns no lines for an operation that has none yet', async () => {
      const view = await store.create(plan());
      assert.deepEqual(await store.logAfter(view.id, 0, 10), []);
    });

    it('refuses a second line with the same (operation_id, seq)', async () => {
      await assert.rejects(
        ds.query(
          `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at)
           VALUES ($1, 2, 'stdout', 'again', now())`,
          [id],
        ),
        (error: Error & { code?: string; constraint?: string }) =>
          error.code === '23505' && /uq_log_lines_operation_seq/.test(error.message),
      );
      const [row]: { line: string }[] = await ds.query(
        `SELECT line FROM log_lines WHERE operation_id = $1 AND seq = 2`,
        [id],
      );
      assert.equal(row.line, 'line 2');
    });

    it('removes the log with its operation', async () => {
      await ds.query(`DELETE FROM operations WHERE id = $1`, [id]);
      const [row]: { n: number }[] = await ds.query(
        `SELECT count(*)::int AS n FROM log_lines WHERE operation_id = $1`,
        [id],
      );
      assert.equal(row.n, 0);
    });
  });
});
