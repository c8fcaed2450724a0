import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { isSealedValue, type HeartbeatMessage } from '@app/contracts';
import { ApiTokenRepository, OperationStateRepository, type OperationView } from '@app/database';
import { openSecret, readPrivateKeyFile } from '@app/platform';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { createTestKeys, type TestKeys } from '../../../test/support/keys';
import { ApiModule } from './api.module';
import { createApiApp } from './app';

const root = resolve(__dirname, '../../../..');
const fixtures = {
  CATALOGUE_DIR: join(root, 'test/fixtures/catalogue'),
  PLAYBOOKS_DIR: join(root, 'test/fixtures/playbooks'),
};

interface Reply<T = any> {
  status: number;
  body: T;
}

describe('api', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let ds: DataSource;
  let base: string;
  /** Every request of this file is an admin's; the roles and scopes have test/e2e/auth.spec.ts. */
  let authorization: string;
  let keys: TestKeys;

  const call = async <T = any>(method: string, path: string, body?: unknown): Promise<Reply<T>> => {
    const response = await fetch(`${base}/api/v1${path}`, {
      method,
      headers:
        body === undefined
          ? { authorization }
          : { authorization, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
  const post = (body: unknown) => call<OperationView>('POST', '/operations', body);
  const count = async (table: string): Promise<number> => {
    const [row]: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM ${table}`);
    return row.n;
  };

  before(async () => {
    db = await createTestDatabase('aegir_test_api');
    keys = createTestKeys();
    Object.assign(process.env, fixtures, keys.apiEnv(), {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
    });
    app = await createApiApp();
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    ds = app.get(DataSource);
    const { token } = await app.get(ApiTokenRepository).create({ name: 'spec', role: 'admin' });
    authorization = `Bearer ${token}`;
  });

  after(async () => {
    await app?.close();
    await db?.drop();
    keys?.remove();
  });

  describe('POST /operations', () => {
    it('creates the operation, its tasks and the outbox row, and answers 201', async () => {
      const reply = await post({ type: 'demo.hello', target: 'web1', params: { greeting: 'hey' } });
      assert.equal(reply.status, 201);
      const view = reply.body;
      assert.equal(view.type, 'demo.hello');
      assert.equal(view.target, 'web1');
      assert.equal(view.pool, 'default');
      assert.equal(view.status, 'queued');
      assert.deepEqual(view.params, { greeting: 'hey' });
      assert.deepEqual(
        view.tasks?.map((t) => [t.position, t.name, t.runner, t.status]),
        [[0, 'hello', 'ansible-playbook', 'queued']],
      );

      const [op]: { status: string; params: unknown }[] = await ds.query(
        `SELECT status, params FROM operations WHERE id = $1`,
        [view.id],
      );
      assert.deepEqual(op, { status: 'queued', params: { greeting: 'hey' } });
      const tasks: { id: string }[] = await ds.query(
        `SELECT id FROM tasks WHERE operation_id = $1`,
        [view.id],
      );
      assert.deepEqual(tasks, [{ id: view.tasks[0].id }]);
      const outbox: { kind: string; routing_key: string; payload: Record<string, unknown> }[] =
        await ds.query(`SELECT kind, routing_key, payload FROM outbox WHERE operation_id = $1`, [
          view.id,
        ]);
      assert.equal(outbox.length, 1);
      assert.equal(outbox[0].kind, 'dispatch');
      assert.equal(outbox[0].routing_key, 'default');
      assert.equal(outbox[0].payload.operationId, view.id);
      assert.deepEqual(outbox[0].payload.tasks, [{ id: view.tasks[0].id, name: 'hello' }]);
    });

    it('fills in schema defaults', async () => {
      const reply = await post({ type: 'demo.hello', target: 'web1' });
      assert.equal(reply.status, 201);
      assert.deepEqual(reply.body.params, { greeting: 'Hello' });
    });

    const refused: [string, unknown, RegExp][] = [
      [
        'an unknown type',
        { type: 'nope', target: 'web1' },
        /^type "nope" is not in the catalogue$/,
      ],
      [
        'params that break the schema',
        { type: 'demo.hello', target: 'web1', params: { greeting: 5 } },
        /^params\.greeting must be string$/,
      ],
      [
        'a missing required param',
        { type: 'test.echo', target: 'web1', params: {} },
        /^params\.message is required$/,
      ],
      [
        'an unknown param',
        { type: 'demo.hello', target: 'web1', params: { colour: 'red' } },
        /^params\.colour is not a known parameter$/,
      ],
      [
        'an unknown field',
        { type: 'demo.hello', target: 'web1', foo: 1 },
        /^property foo should not exist$/,
      ],
      ['a bad target', { type: 'demo.hello', target: '../etc' }, /^target must match/],
      ['a missing target', { type: 'demo.hello' }, /^target must be a string$/],
      [
        'params that are not an object',
        { type: 'demo.hello', target: 'a', params: 'x' },
        /^params must be an object$/,
      ],
    ];
    for (const [what, body, message] of refused) {
      it(`answers 400 naming the field for ${what}, and writes nothing`, async () => {
        const before = [await count('operations'), await count('outbox')];
        const reply = await post(body);
        assert.equal(reply.status, 400);
        assert.equal((reply.body as any).error, 'Bad Request');
        const messages = (reply.body as any).message as string[];
        assert.ok(Array.isArray(messages), JSON.stringify(reply.body));
        assert.ok(
          messages.some((m) => message.test(m)),
          `${JSON.stringify(messages)} should match ${message}`,
        );
        assert.deepEqual([await count('operations'), await count('outbox')], before);
      });
    }

    it('answers the exact shape for a schema error', async () => {
      const reply = await post({ type: 'demo.hello', target: 'web1', params: { greeting: 5 } });
      assert.deepEqual(reply.body, {
        statusCode: 400,
        error: 'Bad Request',
        message: ['params.greeting must be string'],
      });
    });
  });

  describe('GET /operations/:id', () => {
    it('returns the operation with its tasks', async () => {
      const created = (await post({ type: 'test.fail', target: 'web3' })).body;
      const reply = await call<OperationView>('GET', `/operations/${created.id}`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, created);
      assert.deepEqual(
        reply.body.tasks?.map((t) => t.name),
        ['first', 'second', 'third'],
      );
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      const id = randomUUID();
      assert.deepEqual(await call('GET', `/operations/${id}`), {
        status: 404,
        body: { statusCode: 404, error: 'Not Found', message: `operation ${id} not found` },
      });
      const bad = await call('GET', '/operations/not-a-uuid');
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.message, ['id must be a UUID']);
    });
  });

  describe('GET /operations', () => {
    const ids: string[] = [];

    before(async () => {
      await ds.query(`DELETE FROM operations`);
      for (let i = 0; i < 5; i++) {
        const reply = await post({
          type: i % 2 ? 'test.echo' : 'test.sleep',
          target: `host${i % 3}`,
          params: i % 2 ? { message: `m${i}` } : {},
        });
        assert.equal(reply.status, 201);
        ids.push(reply.body.id);
      }
      await ds.query(`UPDATE operations SET status = 'failed' WHERE id = $1`, [ids[2]]);
    });

    it('pages newest first with a cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const reply: Reply = await call('GET', `/operations?limit=2${query}`);
        assert.equal(reply.status, 200);
        assert.ok(reply.body.items.length <= 2);
        seen.push(...reply.body.items.map((item: OperationView) => item.id));
        cursor = reply.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...ids].reverse());
    });

    it('filters by status, type and target', async () => {
      const list = async (query: string) =>
        ((await call('GET', `/operations?${query}`)).body.items as OperationView[]).map(
          (o) => o.id,
        );
      assert.deepEqual(await list('status=failed'), [ids[2]]);
      assert.deepEqual(await list('type=test.echo'), [ids[3], ids[1]]);
      assert.deepEqual(await list('target=host0'), [ids[3], ids[0]]);
      assert.deepEqual(await list('type=test.sleep&status=queued'), [ids[4], ids[0]]);
    });

    const refused: [string, RegExp][] = [
      ['status=finished', /^status must be one of the following values/],
      ['limit=0', /^limit must not be less than 1$/],
      ['limit=201', /^limit must not be greater than 200$/],
      ['limit=abc', /^limit must be an integer number$/],
      ['cursor=garbage', /^cursor is not valid$/],
    ];
    for (const [query, message] of refused) {
      it(`answers 400 for ${query}`, async () => {
        const reply = await call('GET', `/operations?${query}`);
        assert.equal(reply.status, 400);
        assert.ok(
          (reply.body.message as string[]).some((m) => message.test(m)),
          JSON.stringify(reply.body),
        );
      });
    }
  });

  describe('GET /operations/:id/log', () => {
    let id: string;

    before(async () => {
      id = (await post({ type: 'test.lines', target: 'web1', params: { count: 5 } })).body.id;
      for (const seq of [5, 3, 1, 4, 2]) {
        await ds.query(
          `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at)
           VALUES ($1, $2, $3, $4, now())`,
          [id, seq, seq === 4 ? 'stderr' : 'stdout', `line ${seq}`],
        );
      }
      await ds.query(`UPDATE operations SET status = 'running' WHERE id = $1`, [id]);
    });

    it('pages through the lines in seq order', async () => {
      const texts: string[] = [];
      let after = 0;
      for (const expected of [[1, 2], [3, 4], [5], []]) {
        const reply = await call('GET', `/operations/${id}/log?after=${after}&limit=2`);
        assert.equal(reply.status, 200);
        assert.equal(reply.body.operationId, id);
        assert.equal(reply.body.status, 'running');
        assert.deepEqual(
          reply.body.lines.map((l: { seq: number }) => l.seq),
          expected,
        );
        texts.push(...reply.body.lines.map((l: { text: string }) => l.text));
        after = reply.body.next;
      }
      assert.equal(after, 5);
      assert.deepEqual(texts, ['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    });

    it('gives each line its stream and time', async () => {
      const reply = await call('GET', `/operations/${id}/log?after=3&limit=1`);
      assert.deepEqual(Object.keys(reply.body.lines[0]).sort(), [
        'at',
        'continues',
        'seq',
        'stream',
        'taskId',
        'text',
      ]);
      assert.equal(reply.body.lines[0].stream, 'stderr');
      assert.equal(reply.body.next, 4);
    });

    it('bounds a page by bytes as well as lines: limit=10000 over long lines stays small, and next continues', async () => {
      const long = (await post({ type: 'test.lines', target: 'web1', params: { count: 1 } })).body
        .id;
      // 300 lines of 60 000 characters: 18 MB, which one page must not hold
      await ds.query(
        `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at)
         SELECT $1, n, 'stdout', n || ':' || repeat('y', 60000), now()
           FROM generate_series(1, 300) n`,
        [long],
      );
      const seen: number[] = [];
      let after = 0;
      let pages = 0;
      for (;;) {
        const response = await fetch(
          `${base}/api/v1/operations/${long}/log?after=${after}&limit=10000`,
          { headers: { authorization } },
        );
        const text = await response.text();
        assert.equal(response.status, 200);
        assert.ok(text.length < 1.2 * 1024 * 1024, `a page of ${text.length} bytes`);
        const page = JSON.parse(text) as { lines: { seq: number; text: string }[]; next: number };
        if (page.lines.length === 0) break;
        assert.ok(page.lines.every((line) => line.text === `${line.seq}:${'y'.repeat(60000)}`));
        seen.push(...page.lines.map((line) => line.seq));
        assert.equal(page.next, page.lines.at(-1)!.seq);
        after = page.next;
        pages++;
      }
      assert.deepEqual(
        seen,
        Array.from({ length: 300 }, (_, i) => i + 1),
        'each line once, in order',
      );
      assert.ok(pages >= 16, `${pages} pages`);
    });

    it('gives a line longer than the byte bound a page of its own', async () => {
      const huge = (await post({ type: 'test.lines', target: 'web1', params: { count: 1 } })).body
        .id;
      await ds.query(
        `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at)
         SELECT $1, n, 'stdout', repeat('z', 1100000 * (n % 2)) || n, now()
           FROM generate_series(1, 3) n`,
        [huge],
      );
      const first = await call('GET', `/operations/${huge}/log?limit=10000`);
      assert.deepEqual(
        first.body.lines.map((l: { seq: number }) => l.seq),
        [1],
      );
      const rest = await call('GET', `/operations/${huge}/log?after=${first.body.next}`);
      assert.deepEqual(
        rest.body.lines.map((l: { seq: number }) => l.seq),
        [2, 3],
      );
    });

    it('answers 404 for an unknown operation and 400 for bad paging', async () => {
      const unknown = await call('GET', `/operations/${randomUUID()}/log`);
      assert.equal(unknown.status, 404);
      for (const [query, message] of [
        ['after=-1', /^after must not be less than 0$/],
        ['limit=0', /^limit must not be less than 1$/],
        ['limit=10001', /^limit must not be greater than 10000$/],
      ] as const) {
        const reply = await call('GET', `/operations/${id}/log?${query}`);
        assert.equal(reply.status, 400, query);
        assert.ok(
          (reply.body.message as string[]).some((m) => message.test(m)),
          query,
        );
      }
    });
  });

  /** Creates an operation over REST and moves it to `status` by SQL, as the relay would. */
  const inStatus = async (status: string, body: object = { type: 'test.sleep', target: 'db1' }) => {
    const created = await post(body);
    assert.equal(created.status, 201);
    await ds.query(`UPDATE operations SET status = $2 WHERE id = $1`, [created.body.id, status]);
    return created.body.id;
  };
  const cancelRows = async (id: string) =>
    ds.query<{ exchange: string; routing_key: string; payload: Record<string, unknown> }[]>(
      `SELECT exchange, routing_key, payload FROM outbox WHERE operation_id = $1 AND kind = 'cancel'`,
      [id],
    );

  describe('POST /operations/:id/cancel', () => {
    it('cancels a queued operation and its tasks at once, and sends no cancel', async () => {
      const id = await inStatus('queued', { type: 'test.fail', target: 'db1' });
      const reply = await call<OperationView>('POST', `/operations/${id}/cancel`);
      assert.equal(reply.status, 200);
      assert.equal(reply.body.id, id);
      assert.equal(reply.body.status, 'cancelled');
      assert.equal(reply.body.reason, 'cancelled by request');
      assert.equal(reply.body.cancelRequestedAt, null);
      assert.equal(reply.body.cancelledBy, 'token:spec');
      assert.deepEqual(
        reply.body.tasks?.map((task) => [task.name, task.status, task.reason]),
        [
          ['first', 'cancelled', 'not run: cancelled by request'],
          ['second', 'cancelled', 'not run: cancelled by request'],
          ['third', 'cancelled', 'not run: cancelled by request'],
        ],
      );
      const tasks: { status: string }[] = await ds.query(
        `SELECT DISTINCT status FROM tasks WHERE operation_id = $1`,
        [id],
      );
      assert.deepEqual(tasks, [{ status: 'cancelled' }]);
      assert.deepEqual(await cancelRows(id), []);
      assert.deepEqual((await call('GET', `/operations/${id}`)).body, reply.body);
    });

    it('takes a reason, and cancels a dispatched operation the same way', async () => {
      const id = await inStatus('dispatched');
      const reply = await call<OperationView>('POST', `/operations/${id}/cancel`, {
        reason: 'maintenance window closed',
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(
        [reply.body.status, reply.body.reason, reply.body.tasks?.[0].reason],
        ['cancelled', 'maintenance window closed', 'not run: maintenance window closed'],
      );
      assert.deepEqual(await cancelRows(id), []);
    });

    it('asks the dispatcher to stop a running operation: exactly one cancel outbox row', async () => {
      const id = await inStatus('running');
      const reply = await call<OperationView>('POST', `/operations/${id}/cancel`, {
        reason: 'stop',
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.body.status, 'running');
      assert.ok(reply.body.cancelRequestedAt);
      const again = await call<OperationView>('POST', `/operations/${id}/cancel`);
      assert.equal(again.status, 200);
      assert.equal(again.body.cancelRequestedAt, reply.body.cancelRequestedAt);
      const rows = await cancelRows(id);
      assert.equal(rows.length, 1);
      assert.deepEqual(
        [rows[0].exchange, rows[0].routing_key, rows[0].payload.kind, rows[0].payload.reason],
        ['aegir.control', '', 'cancel', 'stop'],
      );
      assert.equal(rows[0].payload.operationId, id);
    });

    it('answers 409 for a finished operation, changing nothing', async () => {
      for (const status of ['succeeded', 'failed', 'cancelled', 'timed_out', 'lost']) {
        const id = await inStatus(status);
        assert.deepEqual(await call('POST', `/operations/${id}/cancel`), {
          status: 409,
          body: {
            statusCode: 409,
            error: 'Conflict',
            message: `operation ${id} is already ${status}`,
          },
        });
        const [row]: { status: string; reason: string | null }[] = await ds.query(
          `SELECT status, reason FROM operations WHERE id = $1`,
          [id],
        );
        assert.deepEqual(row, { status, reason: null });
        assert.deepEqual(await cancelRows(id), []);
      }
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      const id = randomUUID();
      assert.deepEqual(await call('POST', `/operations/${id}/cancel`), {
        status: 404,
        body: { statusCode: 404, error: 'Not Found', message: `operation ${id} not found` },
      });
      const bad = await call('POST', '/operations/not-a-uuid/cancel');
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.message, ['id must be a UUID']);
    });

    const refused: [string, unknown, RegExp][] = [
      ['an unknown field', { reason: 'x', force: true }, /^property force should not exist$/],
      [
        'a reason that is too long',
        { reason: 'x'.repeat(501) },
        /^reason must be shorter than or equal to 500 characters$/,
      ],
      ['a reason that is not a string', { reason: 5 }, /^reason must be a string$/],
      ['an empty reason', { reason: '' }, /^reason should not be empty$/],
    ];
    for (const [what, body, message] of refused) {
      it(`answers 400 for ${what}, and cancels nothing`, async () => {
        const id = await inStatus('queued');
        const reply = await call('POST', `/operations/${id}/cancel`, body);
        assert.equal(reply.status, 400);
        assert.ok(
          (reply.body.message as string[]).some((m) => message.test(m)),
          JSON.stringify(reply.body),
        );
        const [row]: { status: string }[] = await ds.query(
          `SELECT status FROM operations WHERE id = $1`,
          [id],
        );
        assert.equal(row.status, 'queued');
      });
    }
  });

  describe('POST /operations/:id/retry', () => {
    it('creates attempt 2, linked to the original, and answers 201', async () => {
      const id = await inStatus('failed', {
        type: 'test.echo',
        target: 'db2',
        params: { message: 'm' },
      });
      const reply = await call<OperationView>('POST', `/operations/${id}/retry`);
      assert.equal(reply.status, 201);
      const retry = reply.body;
      assert.notEqual(retry.id, id);
      assert.deepEqual(
        [retry.status, retry.attempt, retry.retryOf, retry.type, retry.target, retry.params],
        ['queued', 2, id, 'test.echo', 'db2', { message: 'm' }],
      );
      assert.deepEqual(
        retry.tasks?.map((task) => [task.name, task.status]),
        [['echo', 'queued']],
      );
      const outbox: { kind: string; payload: { operationId: string } }[] = await ds.query(
        `SELECT kind, payload FROM outbox WHERE operation_id = $1`,
        [retry.id],
      );
      assert.deepEqual(
        outbox.map((row) => [row.kind, row.payload.operationId]),
        [['dispatch', retry.id]],
      );
      const original = await call<OperationView>('GET', `/operations/${id}`);
      assert.deepEqual(
        [original.body.status, original.body.retriedBy, original.body.attempt],
        ['failed', retry.id, 1],
      );
      assert.deepEqual(
        [original.body.retryRequestedBy, retry.createdBy],
        ['token:spec', 'token:spec'],
      );

      assert.deepEqual(await call('POST', `/operations/${id}/retry`), {
        status: 409,
        body: {
          statusCode: 409,
          error: 'Conflict',
          message: `operation ${id} has already been retried as ${retry.id}; retry that one to go on`,
        },
      });
    });

    it('plans the new attempt through the catalogue as it is now', async () => {
      // Stored under an older catalogue: other policies, and no value for a param with a default.
      const id = await inStatus('lost', { type: 'test.lines', target: 'db3' });
      await ds.query(
        `UPDATE operations SET params = '{}', exclusive = false, retry_limit = 0 WHERE id = $1`,
        [id],
      );
      const reply = await call<OperationView>('POST', `/operations/${id}/retry`);
      assert.equal(reply.status, 201);
      assert.deepEqual(reply.body.params, { count: 100 });
      assert.equal(reply.body.exclusive, true);
      const [row]: { retry_limit: number }[] = await ds.query(
        `SELECT retry_limit FROM operations WHERE id = $1`,
        [reply.body.id],
      );
      assert.equal(row.retry_limit, 1);
    });

    const replanned: [string, string, unknown, RegExp][] = [
      [
        'a type that is gone',
        'test.gone',
        { message: 'm' },
        /^type "test\.gone" is not in the catalogue$/,
      ],
      [
        'params that no longer fit',
        'test.echo',
        { message: 5 },
        /^params\.message must be string$/,
      ],
    ];
    for (const [what, type, params, message] of replanned) {
      it(`answers 400 naming the field for ${what}, and writes nothing`, async () => {
        const id = await inStatus('failed', {
          type: 'test.echo',
          target: 'db4',
          params: { message: 'm' },
        });
        await ds.query(`UPDATE operations SET type = $2, params = $3 WHERE id = $1`, [
          id,
          type,
          params,
        ]);
        const before = await count('operations');
        const reply = await call('POST', `/operations/${id}/retry`);
        assert.equal(reply.status, 400);
        assert.equal(reply.body.error, 'Bad Request');
        assert.ok(
          (reply.body.message as string[]).some((m) => message.test(m)),
          JSON.stringify(reply.body),
        );
        assert.equal(await count('operations'), before);
      });
    }

    it('answers 409 for an operation that is active or succeeded', async () => {
      for (const status of ['queued', 'dispatched', 'running', 'succeeded']) {
        const id = await inStatus(status);
        assert.deepEqual(await call('POST', `/operations/${id}/retry`), {
          status: 409,
          body: {
            statusCode: 409,
            error: 'Conflict',
            message: `operation ${id} is ${status}; only a failed, timed_out, lost or cancelled operation can be retried`,
          },
        });
      }
    });

    it('answers 409 rather than 400 when the type is gone but the retry is refused anyway', async () => {
      const id = await inStatus('running');
      await ds.query(`UPDATE operations SET type = 'test.gone' WHERE id = $1`, [id]);
      const reply = await call('POST', `/operations/${id}/retry`);
      assert.equal(reply.status, 409);
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      const id = randomUUID();
      assert.deepEqual(await call('POST', `/operations/${id}/retry`), {
        status: 404,
        body: { statusCode: 404, error: 'Not Found', message: `operation ${id} not found` },
      });
      const bad = await call('POST', '/operations/nope/retry');
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.message, ['id must be a UUID']);
    });
  });

  describe('the new fields of an operation', () => {
    it('shows attempt, retry link, exclusive, completeness and cancel request', async () => {
      const created = (await post({ type: 'test.parallel', target: 'db5' })).body;
      assert.deepEqual(
        {
          attempt: created.attempt,
          retryOf: created.retryOf,
          retriedBy: created.retriedBy,
          exclusive: created.exclusive,
          lineCount: created.lineCount,
          linesStored: created.linesStored,
          complete: created.complete,
          cancelRequestedAt: created.cancelRequestedAt,
          createdBy: created.createdBy,
          cancelledBy: created.cancelledBy,
          retryRequestedBy: created.retryRequestedBy,
        },
        {
          attempt: 1,
          retryOf: null,
          retriedBy: null,
          exclusive: false,
          lineCount: null,
          linesStored: null,
          complete: null,
          cancelRequestedAt: null,
          createdBy: 'token:spec',
          cancelledBy: null,
          retryRequestedBy: null,
        },
      );
      await ds.query(
        `UPDATE operations SET status = 'succeeded', line_count = 10, lines_stored = 9
          WHERE id = $1`,
        [created.id],
      );
      const shown = (await call<OperationView>('GET', `/operations/${created.id}`)).body;
      assert.deepEqual([shown.lineCount, shown.linesStored, shown.complete], [10, 9, false]);
      const listed = (await call('GET', `/operations?target=db5`)).body.items[0] as OperationView;
      assert.deepEqual([listed.id, listed.complete, listed.exclusive], [created.id, false, false]);
    });
  });

  describe('HTTP hardening', () => {
    const raw = (contentType: string, body: string) =>
      fetch(`${base}/api/v1/operations`, {
        method: 'POST',
        headers: { authorization, 'content-type': contentType },
        body,
      });

    it('refuses a body that is not application/json with 415, and creates nothing', async () => {
      const before = await count('operations');
      for (const [type, body] of [
        ['application/x-www-form-urlencoded', 'type=demo.hello&target=localhost'],
        ['text/plain', JSON.stringify({ type: 'demo.hello', target: 'localhost' })],
        ['multipart/form-data; boundary=x', '--x--'],
      ]) {
        const response = await raw(type, body);
        assert.equal(response.status, 415, type);
        assert.deepEqual(await response.json(), {
          statusCode: 415,
          error: 'Unsupported Media Type',
          message: 'request bodies must be application/json',
        });
      }
      assert.equal(await count('operations'), before);
    });

    it('refuses JSON nested deeper than 32 levels with 400, naming the bound', async () => {
      const deep = '['.repeat(33) + ']'.repeat(33);
      const response = await raw(
        'application/json',
        `{"type":"demo.hello","target":"localhost","params":{"x":${deep}}}`,
      );
      assert.equal(response.status, 400);
      assert.match(JSON.stringify(await response.json()), /JSON nested deeper than 32 levels/);
    });

    it('refuses NUL and unpaired surrogates in params, a cancel reason or a filter with 400, writing nothing', async () => {
      const before = await count('operations');
      for (const greeting of ['a\\u0000b', '\\ud800', 'x\\udc00y', 'x\\uDBFF']) {
        const response = await raw(
          'application/json',
          `{"type":"demo.hello","target":"localhost","params":{"greeting":"${greeting}"}}`,
        );
        assert.equal(response.status, 400, greeting);
        assert.equal(
          ((await response.json()) as { message: string }).message,
          'params.greeting must not contain NUL characters or unpaired UTF-16 surrogates',
        );
      }
      for (const [body, field] of [
        ['{"type":"demo.hello","target":"a\\u0000"}', 'target'],
        ['{"type":"demo.hello","target":"x","params":{"list":["ok","\\ud800"]}}', 'params.list[1]'],
        ['{"type":"demo.hello","target":"x","params":{"a\\u0000":1}}', 'params."a\\u0000" (a key)'],
      ]) {
        const response = await raw('application/json', body);
        assert.equal(response.status, 400, body);
        assert.equal(
          ((await response.json()) as { message: string }).message,
          `${field} must not contain NUL characters or unpaired UTF-16 surrogates`,
        );
      }
      assert.equal(await count('operations'), before);
      const created = await post({ type: 'demo.hello', target: 'localhost', params: {} });
      const cancel = await fetch(`${base}/api/v1/operations/${created.body.id}/cancel`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: '{"reason":"stop\\u0000now"}',
      });
      assert.equal(cancel.status, 400);
      assert.match(JSON.stringify(await cancel.json()), /"reason must not contain NUL/);
      assert.equal(
        (await call<OperationView>('GET', `/operations/${created.body.id}`)).body.status,
        'queued',
      );
      const list = await fetch(`${base}/api/v1/operations?target=a%00b`, {
        headers: { authorization },
      });
      assert.equal(list.status, 400);
      assert.match(JSON.stringify(await list.json()), /"target must not contain NUL/);
      const cursor = Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000000Z', randomUUID()]));
      const year0 = await call('GET', `/operations?cursor=${cursor.toString('base64url')}`);
      assert.equal(year0.status, 400);
      assert.deepEqual(year0.body.message, ['cursor is not valid']);
      // a well-formed pair is text like any other
      const emoji = await post({
        type: 'demo.hello',
        target: 'localhost',
        params: { greeting: '\u{1F600}' },
      });
      assert.equal(emoji.status, 201);
    });

    it('sends security headers and no X-Powered-By', async () => {
      const response = await fetch(`${base}/api/v1/catalogue`, { headers: { authorization } });
      await response.body?.cancel();
      assert.equal(response.headers.get('x-powered-by'), null);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    });
  });

  describe('GET /catalogue', () => {
    it('lists every type with its schema and tasks, and nothing of how they run', async () => {
      const reply = await call('GET', '/catalogue');
      assert.equal(reply.status, 200);
      const types = reply.body.types as { name: string; parallel: boolean; retry: unknown }[];
      const names = types.map((t) => t.name);
      assert.deepEqual(names, [...names].sort());
      for (const name of ['demo.hello', 'test.echo', 'test.fail', 'test.lines', 'test.sleep']) {
        assert.ok(names.includes(name), name);
      }
      const echo = reply.body.types.find((t: { name: string }) => t.name === 'test.echo');
      assert.deepEqual(echo, {
        name: 'test.echo',
        description: 'Print the message given.',
        pool: 'default',
        parallel: false,
        retry: { attempts: 0, backoffSeconds: 0 },
        params: echo.params,
        tasks: [{ name: 'echo', runner: 'command', timeoutSeconds: 30 }],
      });
      assert.deepEqual(echo.params.required, ['message']);
      const lines = types.find((t) => t.name === 'test.lines')!;
      assert.deepEqual(lines.retry, { attempts: 1, backoffSeconds: 0 });
      assert.equal(types.find((t) => t.name === 'test.parallel')?.parallel, true);
    });
  });

  describe('GET /workers', () => {
    const beat = (
      dispatcherId: string,
      pool: string,
      secondsAgo: number,
      operations: string[] = [],
    ): HeartbeatMessage => ({
      v: 1,
      kind: 'heartbeat',
      dispatcherId,
      pool,
      operations,
      at: new Date(Date.now() - secondsAgo * 1000).toISOString(),
      concurrency: 3,
    });
    let running: OperationView;

    before(async () => {
      running = (await post({ type: 'test.echo', target: 'web9', params: { message: 'm' } })).body;
      // as the relay records them, with its default horizon of 60 s
      await ds.transaction((manager) =>
        app
          .get(OperationStateRepository)
          .recordHeartbeats(manager, [
            beat('w-1', 'default', 1, [running.id]),
            beat('w-2', 'other', 120),
          ]),
      );
    });

    it('lists the dispatchers seen, what each runs, alive or silent', async () => {
      const reply = await call('GET', '/workers');
      assert.equal(reply.status, 200);
      const items = reply.body.items as Record<string, unknown>[];
      assert.deepEqual(
        items.map((item) => [item.dispatcherId, item.pool, item.state, item.running]),
        [
          ['w-1', 'default', 'alive', 1],
          ['w-2', 'other', 'silent', 0],
        ],
      );
      assert.deepEqual(items[0].operations, [
        { id: running.id, type: 'test.echo', target: 'web9' },
      ]);
      assert.equal(items[0].concurrency, 3);
      for (const field of ['firstSeenAt', 'lastSeenAt', 'silentAfter']) {
        assert.ok(!Number.isNaN(Date.parse(String(items[1][field]))), field);
      }
      assert.ok(Number(items[1].lastSeenAgoMs) >= 119_000, 'last seen two minutes ago');
    });

    it('filters by pool, and refuses a pool that is no pool name', async () => {
      const other = await call('GET', '/workers?pool=other');
      assert.equal(other.status, 200);
      assert.deepEqual(
        other.body.items.map((item: { dispatcherId: string }) => item.dispatcherId),
        ['w-2'],
      );
      assert.deepEqual((await call('GET', '/workers?pool=nobody')).body, { items: [] });
      const bad = await call('GET', '/workers?pool=Not%20a%20pool');
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.message, ['pool must match ^[a-z0-9][a-z0-9_-]{0,62}$']);
    });

    it('answers 401 without a token', async () => {
      const response = await fetch(`${base}/api/v1/workers`);
      assert.equal(response.status, 401);
      const body = (await response.json()) as { message: string };
      assert.equal(body.message, 'a token is required: send Authorization: Bearer <token>');
    });

    it('shows a scoped viewer only the operations within its scope, and every dispatcher', async () => {
      const { token } = await app
        .get(ApiTokenRepository)
        .create({ name: 'workers-scoped', role: 'viewer', types: 'site.*' });
      const response = await fetch(`${base}/api/v1/workers`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200);
      const { items } = (await response.json()) as {
        items: { dispatcherId: string; running: number; operations: unknown[] }[];
      };
      assert.deepEqual(
        items.map((item) => [item.dispatcherId, item.running, item.operations]),
        [
          ['w-1', 1, []],
          ['w-2', 0, []],
        ],
      );
    });
  });

  describe('secret params', () => {
    const password = `api-spec-${randomUUID()}`;

    it('stores and dispatches only the sealed value, and shows ********', async () => {
      const reply = await post({ type: 'test.secret', target: 'web1', params: { password } });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      assert.deepEqual(reply.body.params, { password: '********', user: 'admin' });
      const id = reply.body.id;
      const [row]: { params: Record<string, unknown> }[] = await ds.query(
        `SELECT params FROM operations WHERE id = $1`,
        [id],
      );
      assert.deepEqual(Object.keys(row.params.password as object), ['sealed']);
      assert.ok(isSealedValue(row.params.password));
      const [outbox]: { payload: { params: Record<string, unknown> } }[] = await ds.query(
        `SELECT payload FROM outbox WHERE operation_id = $1`,
        [id],
      );
      assert.deepEqual(outbox.payload.params.password, row.params.password);
      const opened = await openSecret(
        readPrivateKeyFile(keys.sealingKey('default'), 'sealing'),
        { pool: 'default', param: 'password' },
        row.params.password,
      );
      assert.equal(opened, password, 'the pool key opens it');
      const [{ found }]: { found: number }[] = await ds.query(
        `SELECT (SELECT count(*) FROM operations WHERE params::text LIKE $1)
              + (SELECT count(*) FROM outbox WHERE payload::text LIKE $1) AS found`,
        [`%${password}%`],
      );
      assert.equal(Number(found), 0);
      for (const path of [`/operations/${id}`, `/operations?type=test.secret`]) {
        const read = await call('GET', path);
        assert.ok(!JSON.stringify(read.body).includes(password), path);
        assert.ok(JSON.stringify(read.body).includes('"password":"********"'), path);
      }
    });

    it('checks the value in clear before sealing it, and refuses one sent sealed', async () => {
      const before = await count('operations');
      const short = await post({
        type: 'test.secret',
        target: 'web1',
        params: { password: 'abc' },
      });
      assert.equal(short.status, 400);
      assert.match(
        JSON.stringify(short.body),
        /params\.password must NOT have fewer than 4 characters/,
      );
      assert.ok(!JSON.stringify(short.body).includes('abc'), 'the answer does not repeat it');
      const sealed = await post({
        type: 'test.secret',
        target: 'web1',
        params: { password: { sealed: 'a.b.c.d.e' } },
      });
      assert.equal(sealed.status, 400);
      assert.match(JSON.stringify(sealed.body), /params\.password must be string/);
      assert.equal(await count('operations'), before);
    });

    it('a retry dispatches the same sealed value again', async () => {
      const id = await inStatus('failed', {
        type: 'test.secret',
        target: 'web1',
        params: { password },
      });
      const reply = await call<OperationView>('POST', `/operations/${id}/retry`);
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      assert.deepEqual(reply.body.params, { password: '********', user: 'admin' });
      const rows: { id: string; params: Record<string, unknown> }[] = await ds.query(
        `SELECT id, params FROM operations WHERE id IN ($1, $2)`,
        [id, reply.body.id],
      );
      assert.equal(rows.length, 2);
      assert.deepEqual(rows[0].params, rows[1].params);
      const [outbox]: { payload: { params: Record<string, unknown> } }[] = await ds.query(
        `SELECT payload FROM outbox WHERE operation_id = $1`,
        [reply.body.id],
      );
      assert.deepEqual(outbox.payload.params, rows[0].params);
    });
  });

  describe('least privilege', () => {
    it('loads no AMQP code and has no AMQP provider or module', async () => {
      const loaded = Object.keys(require.cache).filter((file) =>
        /amqplib|nestjs-rabbitmq|[\\/]libs[\\/]amqp[\\/]/.test(file),
      );
      assert.deepEqual(loaded, []);

      const names = [...app.get(ModulesContainer).values()].map((m) => m.metatype.name);
      assert.ok(names.includes('DatabaseModule'));
      assert.deepEqual(
        names.filter((name) => /rabbit|amqp/i.test(name)),
        [],
      );
      const { AmqpConnection } = await import('@golevelup/nestjs-rabbitmq');
      assert.throws(() => app.get(AmqpConnection, { strict: false }));
    });

    it('builds the same module graph under @nestjs/testing', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [await ApiModule.forRoot()],
      }).compile();
      try {
        const names = [...moduleRef.get(ModulesContainer).values()].map((m) => m.metatype.name);
        assert.ok(names.includes('CatalogueModule'));
        assert.deepEqual(
          names.filter((name) => /rabbit|amqp/i.test(name)),
          [],
        );
      } finally {
        await moduleRef.close();
      }
    });
  });
});

describe('api configuration', () => {
  it('stops start-up with a message naming the variable', () => {
    const result = spawnSync(process.execPath, [join(__dirname, 'main.js')], {
      env: { ...process.env, ...fixtures, API_PORT: '70000' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /API_PORT must be an integer from 1 to 65535, got "70000"/);
  });

  it('stops start-up without the sealing keys of a pool whose types have secret params', () => {
    for (const [dir, message] of [
      [
        '',
        /API_SEALING_KEYS_DIR must name the directory of the sealing-<pool>\.pub files .*pools default/,
      ],
      [tmpdir(), /API_SEALING_KEYS_DIR: cannot read .*sealing-default\.pub: ENOENT/],
    ] as const) {
      const result = spawnSync(process.execPath, [join(__dirname, 'main.js')], {
        env: { ...process.env, ...fixtures, API_SEALING_KEYS_DIR: dir },
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, message);
    }
  });
});
