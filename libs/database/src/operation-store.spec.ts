import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { OperationPlan } from '@app/catalogue';
import { decodeControl, type OperationStatus } from '@app/contracts';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { openTestDataSource, type TestDatabase } from '../../../test/support/database';
import { OUTBOX_CHANNEL } from './channels';
import { BadCursorError, encodeCursor } from './cursor';
import { ConflictError } from './conflict-error';
import { OperationStateRepository } from './operation-state.repository';
import { OperationStore } from './operation-store';
import type { OperationView } from './operation-views';

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
    exclusive: true,
    retry: { attempts: 0, backoffSeconds: 0 },
    ...overrides,
  };
}

describe('OperationStore', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: OperationStore;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    ({ db, ds, close } = await openTestDataSource('aegir_test_store'));
    store = new OperationStore(ds, new OperationStateRepository(ds));
  });

  after(async () => {
    await close?.();
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
      assert.deepEqual(
        [view.attempt, view.retryOf, view.retriedBy, view.exclusive, view.cancelRequestedAt],
        [1, null, null, true, null],
      );
      assert.deepEqual([view.lineCount, view.linesStored, view.complete], [null, null, null]);
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

    it("stores the plan's exclusive flag and retry policy, and an attempt and retry link", async () => {
      const first = await store.create(plan());
      const view = await store.create(
        plan({ exclusive: false, retry: { attempts: 2, backoffSeconds: 30 } }),
        { retryOf: first.id, attempt: 4 },
      );
      assert.deepEqual([view.attempt, view.retryOf, view.exclusive], [4, first.id, false]);
      const [row]: Record<string, unknown>[] = await ds.query(
        `SELECT attempt, retry_of, retry_limit, retry_backoff_seconds, exclusive
           FROM operations WHERE id = $1`,
        [view.id],
      );
      assert.deepEqual(row, {
        attempt: 4,
        retry_of: first.id,
        retry_limit: 2,
        retry_backoff_seconds: 30,
        exclusive: false,
      });
      assert.equal((await store.get(first.id))?.retriedBy, view.id);
    });

    it('holds the dispatch back for delaySeconds, and refuses a bad delay', async () => {
      const delay = async (id: string): Promise<number> => {
        const [row]: { delay: number }[] = await ds.query(
          `SELECT extract(epoch FROM available_at - created_at)::float AS delay
             FROM outbox WHERE operation_id = $1`,
          [id],
        );
        return row.delay;
      };
      const now = await store.create(plan());
      assert.ok(Math.abs(await delay(now.id)) < 1, `delay ${await delay(now.id)}`);
      const later = await store.create(plan(), { delaySeconds: 90 });
      assert.ok(Math.abs((await delay(later.id)) - 90) < 1, `delay ${await delay(later.id)}`);

      const before = await Promise.all(['operations', 'tasks', 'outbox'].map(count));
      for (const delaySeconds of [-1, 1.5, 86401, Number.NaN]) {
        await assert.rejects(store.create(plan(), { delaySeconds }), RangeError);
      }
      assert.deepEqual(await Promise.all(['operations', 'tasks', 'outbox'].map(count)), before);
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
        // JavaScript has a year 0, PostgreSQL has not
        encodeCursor({ createdAt: '0000-01-01T00:00:00.000000Z', id: randomUUID() }),
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
      assert.deepEqual(await store.progress(created.id), {
        status: 'running',
        lineCount: 42,
        type: created.type,
        target: created.target,
      });
    });

    it('says whether every emitted line was stored, once both counts are known', async () => {
      const { id } = await store.create(plan());
      const counts = async (lineCount: number | null, linesStored: number | null) => {
        await ds.query(`UPDATE operations SET line_count = $2, lines_stored = $3 WHERE id = $1`, [
          id,
          lineCount,
          linesStored,
        ]);
        const view = (await store.get(id))!;
        const listed = (await store.list({ limit: 100 })).items.find((item) => item.id === id)!;
        assert.equal(listed.complete, view.complete);
        return [view.lineCount, view.linesStored, view.complete];
      };
      assert.deepEqual(await counts(null, null), [null, null, null]);
      assert.deepEqual(await counts(100000, null), [100000, null, null]);
      assert.deepEqual(await counts(null, 7), [null, 7, null]);
      assert.deepEqual(await counts(100000, 100000), [100000, 100000, true]);
      assert.deepEqual(await counts(100000, 99999), [100000, 99999, false]);
      assert.deepEqual(await counts(0, 0), [0, 0, true]);
      assert.deepEqual(await counts(5, 6), [5, 6, false]);
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
          `INSERT INTO log_lines (operation_id, task_id, seq, stream, line, emitted_at, continues)
           VALUES ($1, $2, $3, $4, $5, '2025-01-01T00:00:00Z', $6)`,
          [id, seq === 2 ? null : taskId, seq, stream, `line ${seq}`, seq === 2],
        );
      }
    });

    it('reads lines after a seq, in seq order', async () => {
      const at = '2025-01-01T00:00:00.000Z';
      assert.deepEqual(await store.logAfter(id, 0, 100), [
        { seq: 1, taskId, stream: 'stdout', text: 'line 1', at, continues: false },
        { seq: 2, taskId: null, stream: 'system', text: 'line 2', at, continues: true },
        { seq: 3, taskId, stream: 'stderr', text: 'line 3', at, continues: false },
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
          error.code === '23505' && /pk_log_lines/.test(error.message),
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
  /** An operation moved to `status` by SQL, as the relay would. */
  const inStatus = async (status: OperationStatus, overrides: Partial<OperationPlan> = {}) => {
    const view = await store.create(plan(overrides));
    await ds.query(`UPDATE operations SET status = $2 WHERE id = $1`, [view.id, status]);
    return view.id;
  };
  const outboxRows = async (id: string, kind: string) =>
    ds.query<{ exchange: string; routing_key: string; payload: any; available_at: Date }[]>(
      `SELECT exchange, routing_key, payload, available_at FROM outbox
        WHERE operation_id = $1 AND kind = $2 ORDER BY id`,
      [id, kind],
    );
  const taskRows = async (id: string) =>
    ds.query<{ status: string; reason: string | null; finished: boolean }[]>(
      `SELECT status, reason, finished_at IS NOT NULL AS finished FROM tasks
        WHERE operation_id = $1 ORDER BY position`,
      [id],
    );

  /** The payloads NOTIFYed on a channel during `action` and a moment after it. */
  async function notifiedOn(channel: string, action: () => Promise<unknown>): Promise<string[]> {
    const listener = new Client({ connectionString: db.url });
    await listener.connect();
    try {
      await listener.query(`LISTEN ${channel}`);
      const payloads: string[] = [];
      listener.on('notification', (n) => payloads.push(n.payload ?? ''));
      await action();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return payloads;
    } finally {
      await listener.end();
    }
  }

  describe('cancel', () => {
    for (const status of ['queued', 'dispatched'] as const) {
      it(`cancels a ${status} operation and all its tasks at once, sending nothing`, async () => {
        const id = await inStatus(status);
        const view = await store.cancel(id, 'wrong target');
        assert.ok(view);
        assert.equal(view.status, 'cancelled');
        assert.equal(view.reason, 'wrong target');
        assert.ok(view.finishedAt);
        assert.equal(view.cancelRequestedAt, null);
        assert.deepEqual(
          view.tasks?.map((task) => [task.status, task.reason]),
          [
            ['cancelled', 'not run: wrong target'],
            ['cancelled', 'not run: wrong target'],
          ],
        );
        assert.deepEqual(await taskRows(id), [
          { status: 'cancelled', reason: 'not run: wrong target', finished: true },
          { status: 'cancelled', reason: 'not run: wrong target', finished: true },
        ]);
        assert.deepEqual(await outboxRows(id, 'cancel'), []);
      });
    }

    it('gives a default reason, and tells followers and the relay', async () => {
      const id = await inStatus('queued');
      const followers = await notifiedOn('aegir_log', async () => {
        const outbox = await notifiedOn('aegir_outbox', () => store.cancel(id));
        assert.ok(outbox.length > 0, 'the relay is woken: the target is free');
      });
      assert.ok(followers.includes(id), JSON.stringify(followers));
      const view = (await store.get(id))!;
      assert.equal(view.reason, 'cancelled by request');
      assert.equal(view.tasks?.[0].reason, 'not run: cancelled by request');
    });

    it('asks the dispatcher to stop a running operation: one cancel outbox row', async () => {
      const id = await inStatus('running');
      await ds.query(
        `UPDATE tasks SET status = CASE position WHEN 0 THEN 'succeeded' ELSE 'running' END
          WHERE operation_id = $1`,
        [id],
      );
      const notified = await notifiedOn('aegir_outbox', async () => {
        const view = await store.cancel(id, 'stop it');
        assert.ok(view);
        assert.equal(view.status, 'running');
        assert.equal(view.reason, null);
        assert.ok(view.cancelRequestedAt && !Number.isNaN(Date.parse(view.cancelRequestedAt)));
        assert.deepEqual(
          view.tasks?.map((task) => task.status),
          ['succeeded', 'running'],
        );
      });
      assert.ok(notified.length > 0, 'the relay is woken');
      const rows = await outboxRows(id, 'cancel');
      assert.equal(rows.length, 1);
      assert.equal(rows[0].exchange, 'aegir.control');
      assert.equal(rows[0].routing_key, '');
      assert.deepEqual(rows[0].payload, {
        v: 1,
        kind: 'cancel',
        operationId: id,
        reason: 'stop it',
        sentAt: rows[0].payload.sentAt,
      });
      // …and it is a message the dispatchers accept.
      const decoded = decodeControl(Buffer.from(JSON.stringify(rows[0].payload)));
      assert.ok(decoded.ok, JSON.stringify(decoded));
    });

    it('sends a running operation one cancel only, however often it is asked', async () => {
      const id = await inStatus('running');
      const first = await store.cancel(id);
      const again = await Promise.all([store.cancel(id, 'again'), store.cancel(id, 'and again')]);
      assert.equal((await outboxRows(id, 'cancel')).length, 1);
      for (const view of again) {
        assert.equal(view?.status, 'running');
        assert.equal(view?.cancelRequestedAt, first?.cancelRequestedAt);
      }
      const racing = await inStatus('running');
      await Promise.all([store.cancel(racing), store.cancel(racing), store.cancel(racing)]);
      assert.equal((await outboxRows(racing, 'cancel')).length, 1);
    });

    for (const status of ['succeeded', 'failed', 'cancelled', 'timed_out', 'lost'] as const) {
      it(`refuses to cancel a ${status} operation, changing nothing`, async () => {
        const id = await inStatus(status);
        await assert.rejects(store.cancel(id), (error: Error) => {
          assert.ok(error instanceof ConflictError);
          assert.equal(error.message, `operation ${id} is already ${status}`);
          return true;
        });
        const view = (await store.get(id))!;
        assert.deepEqual([view.status, view.reason, view.cancelRequestedAt], [status, null, null]);
        assert.deepEqual(
          view.tasks?.map((task) => task.status),
          ['queued', 'queued'],
        );
        assert.deepEqual(await outboxRows(id, 'cancel'), []);
      });
    }

    it('returns null for an unknown or malformed id', async () => {
      assert.equal(await store.cancel(randomUUID()), null);
      assert.equal(await store.cancel('nope'), null);
    });

    it('refuses an empty or overlong reason', async () => {
      const id = await inStatus('queued');
      await assert.rejects(store.cancel(id, ''), RangeError);
      await assert.rejects(store.cancel(id, 'x'.repeat(501)), RangeError);
      assert.equal((await store.get(id))?.status, 'queued');
      assert.equal((await store.cancel(id, 'x'.repeat(500)))?.status, 'cancelled');
    });
  });

  describe('retry', () => {
    it('starts attempt 2 of a failed operation, planned as it was, linked to it', async () => {
      const original = await store.create(
        plan({
          type: 'test.lines',
          target: 'web7',
          pool: 'slow',
          params: { count: 3 },
          exclusive: false,
          retry: { attempts: 2, backoffSeconds: 15 },
        }),
      );
      await ds.query(`UPDATE operations SET status = 'failed', reason = 'x' WHERE id = $1`, [
        original.id,
      ]);
      const retry = await store.retry(original.id);
      assert.ok(retry);
      assert.notEqual(retry.id, original.id);
      assert.equal(retry.status, 'queued');
      assert.deepEqual(
        [retry.attempt, retry.retryOf, retry.retriedBy, retry.exclusive],
        [2, original.id, null, false],
      );
      assert.deepEqual(
        [retry.type, retry.target, retry.pool, retry.params],
        ['test.lines', 'web7', 'slow', { count: 3 }],
      );
      assert.deepEqual(
        retry.tasks?.map((task) => [task.position, task.name, task.runner, task.status]),
        [
          [0, 'prepare', 'command', 'queued'],
          [1, 'hello', 'ansible-playbook', 'queued'],
        ],
      );
      assert.ok(retry.tasks?.every((task, i) => task.id !== original.tasks?.[i].id));
      const [row]: Record<string, unknown>[] = await ds.query(
        `SELECT retry_limit, retry_backoff_seconds FROM operations WHERE id = $1`,
        [retry.id],
      );
      assert.deepEqual(row, { retry_limit: 2, retry_backoff_seconds: 15 });
      const [dispatch] = await outboxRows(retry.id, 'dispatch');
      assert.equal(dispatch.routing_key, 'slow');
      assert.equal(dispatch.payload.operationId, retry.id);
      assert.deepEqual(
        dispatch.payload.tasks,
        retry.tasks?.map((task) => ({ id: task.id, name: task.name })),
      );
      assert.equal((await store.get(original.id))?.retriedBy, retry.id);
      assert.equal((await store.get(original.id))?.status, 'failed');
    });

    for (const status of ['failed', 'timed_out', 'lost', 'cancelled'] as const) {
      it(`retries a ${status} operation`, async () => {
        const id = await inStatus(status);
        assert.equal((await store.retry(id))?.retryOf, id);
      });
    }

    for (const status of ['queued', 'dispatched', 'running', 'succeeded'] as const) {
      it(`refuses to retry a ${status} operation`, async () => {
        const id = await inStatus(status);
        await assert.rejects(store.retry(id), {
          name: 'ConflictError',
          message: `operation ${id} is ${status}; only a failed, timed_out, lost or cancelled operation can be retried`,
        });
        const [row]: { n: number }[] = await ds.query(
          `SELECT count(*)::int AS n FROM operations WHERE retry_of = $1`,
          [id],
        );
        assert.equal(row.n, 0);
      });
    }

    it('retries an attempt once; the retry is retried to go on', async () => {
      const id = await inStatus('lost');
      const second = (await store.retry(id))!;
      await assert.rejects(store.retry(id), (error: Error) => {
        assert.ok(error instanceof ConflictError);
        assert.equal(
          error.message,
          `operation ${id} has already been retried as ${second.id}; retry that one to go on`,
        );
        return true;
      });
      await ds.query(`UPDATE operations SET status = 'timed_out' WHERE id = $1`, [second.id]);
      const third = (await store.retry(second.id))!;
      assert.deepEqual([third.attempt, third.retryOf], [3, second.id]);
    });

    it('lets exactly one of two concurrent retries win', async () => {
      for (let round = 0; round < 5; round++) {
        const id = await inStatus('failed');
        const results = await Promise.allSettled([store.retry(id), store.retry(id)]);
        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.filter((result) => result.status === 'rejected');
        assert.equal(won.length, 1, JSON.stringify(results));
        assert.ok(lost[0].reason instanceof ConflictError, String(lost[0].reason));
        const winner = (won[0] as PromiseFulfilledResult<OperationView>).value;
        assert.match(lost[0].reason.message, new RegExp(`already been retried as ${winner.id}`));
        const [row]: { n: number }[] = await ds.query(
          `SELECT count(*)::int AS n FROM operations WHERE retry_of = $1`,
          [id],
        );
        assert.equal(row.n, 1);
      }
    });

    it('answers ConflictError when another writer inserts the retry first', async () => {
      const id = await inStatus('failed');
      const other = new Client({ connectionString: db.url });
      await other.connect();
      const otherId = randomUUID();
      try {
        await other.query('BEGIN');
        await other.query(
          `INSERT INTO operations (id, type, target, pool, params, status, attempt, retry_of)
           VALUES ($1, 'demo.hello', 'localhost', 'default', '{}', 'queued', 2, $2)`,
          [otherId, id],
        );
        // Waits on the unique index for the other transaction, then finds the row taken.
        const retrying = store.retry(id);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await other.query('COMMIT');
        await assert.rejects(retrying, {
          name: 'ConflictError',
          message: `operation ${id} has already been retried as ${otherId}; retry that one to go on`,
        });
      } finally {
        await other.end();
      }
    });

    it('uses the plan it is given, or makes it from the original only when allowed', async () => {
      const id = await inStatus('failed');
      const seen: unknown[] = [];
      const retry = await store.retry(id, {
        plan: (original) => {
          seen.push(original);
          return plan({
            type: original.type,
            target: original.target,
            params: { greeting: 'again' },
            tasks: [{ name: 'hello', runner: 'ansible-playbook' }],
            retry: { attempts: 1, backoffSeconds: 5 },
          });
        },
      });
      assert.deepEqual(seen, [
        { id, type: 'demo.hello', target: 'localhost', params: { greeting: 'hi' } },
      ]);
      assert.deepEqual(retry?.params, { greeting: 'again' });
      assert.deepEqual(
        retry?.tasks?.map((task) => task.name),
        ['hello'],
      );

      const running = await inStatus('running');
      await assert.rejects(
        store.retry(running, {
          plan: () => assert.fail('planned although the retry is refused'),
        }),
        ConflictError,
      );

      const given = await store.retry(await inStatus('lost'), {
        plan: plan({ target: 'elsewhere' }),
      });
      assert.equal(given?.target, 'elsewhere');
    });

    it('writes nothing when planning fails', async () => {
      const id = await inStatus('failed');
      const before = await count('operations');
      await assert.rejects(
        store.retry(id, {
          plan: () => {
            throw new Error('type gone');
          },
        }),
        /type gone/,
      );
      assert.equal(await count('operations'), before);
      assert.equal((await store.get(id))?.retriedBy, null);
    });

    it('holds the new attempt back for delaySeconds', async () => {
      const id = await inStatus('lost');
      const retry = (await store.retry(id, { delaySeconds: 120 }))!;
      const [row]: { delay: number }[] = await ds.query(
        `SELECT extract(epoch FROM available_at - now())::float AS delay
           FROM outbox WHERE operation_id = $1`,
        [retry.id],
      );
      assert.ok(row.delay > 118 && row.delay <= 120, `delay ${row.delay}`);
      await assert.rejects(store.retry(await inStatus('lost'), { delaySeconds: -1 }), RangeError);
    });

    it('returns null for an unknown or malformed id', async () => {
      assert.equal(await store.retry(randomUUID()), null);
      assert.equal(await store.retry('nope'), null);
    });

    it('keeps a retry when the attempt it retried is deleted', async () => {
      const id = await inStatus('failed');
      const retry = (await store.retry(id))!;
      await ds.query(`DELETE FROM operations WHERE id = $1`, [id]);
      const view = await store.get(retry.id);
      assert.deepEqual([view?.attempt, view?.retryOf], [2, null]);
    });
  });
});
