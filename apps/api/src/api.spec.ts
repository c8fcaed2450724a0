import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { OperationView } from '@app/database';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { ApiModule } from './api.module';
import { createApiApp } from './app';
import { apiConfigFromEnv } from './config';

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

  const call = async <T = any>(method: string, path: string, body?: unknown): Promise<Reply<T>> => {
    const response = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
    Object.assign(process.env, fixtures, { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    app = await createApiApp();
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    ds = app.get(DataSource);
  });

  after(async () => {
    await app?.close();
    await db?.drop();
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
        'seq',
        'stream',
        'taskId',
        'text',
      ]);
      assert.equal(reply.body.lines[0].stream, 'stderr');
      assert.equal(reply.body.next, 4);
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

  describe('GET /catalogue', () => {
    it('lists every type with its schema and tasks, and nothing of how they run', async () => {
      const reply = await call('GET', '/catalogue');
      assert.equal(reply.status, 200);
      const types = reply.body.types as { name: string }[];
      assert.deepEqual(
        types.map((t) => t.name),
        ['demo.hello', 'test.echo', 'test.fail', 'test.lines', 'test.sleep'],
      );
      const echo = reply.body.types[1];
      assert.deepEqual(echo, {
        name: 'test.echo',
        description: 'Print the message given.',
        pool: 'default',
        params: echo.params,
        tasks: [{ name: 'echo', runner: 'command', timeoutSeconds: 30 }],
      });
      assert.deepEqual(echo.params.required, ['message']);
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
      const moduleRef = await Test.createTestingModule({ imports: [ApiModule] }).compile();
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
  it('refuses a bad API_PORT, naming it', () => {
    for (const port of ['0', '65536', 'abc', '3.5', '-1']) {
      assert.throws(() => apiConfigFromEnv({ API_PORT: port }), /^Error: API_PORT must be/, port);
    }
    assert.equal(apiConfigFromEnv({ API_PORT: '8080' }).port, 8080);
    assert.equal(apiConfigFromEnv({ API_PORT: '' }).port, 3000, 'empty means unset');
    assert.deepEqual(apiConfigFromEnv({}), { port: 3000, host: '127.0.0.1', logLevel: 'info' });
    assert.throws(() => apiConfigFromEnv({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
  });

  it('stops start-up with a message naming the variable', () => {
    const result = spawnSync(process.execPath, [join(__dirname, 'main.js')], {
      env: { ...process.env, ...fixtures, API_PORT: '70000' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /API_PORT must be an integer from 1 to 65535, got "70000"/);
  });
});
