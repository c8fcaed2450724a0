import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { declareTopology } from '@app/amqp';
import { brokerTopology, brokerUsers } from '@app/contracts';
import { connect, type ChannelModel } from 'amqplib';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { OperationStateRepository } from '@app/database';
import { createTestVhost, queueDepths, type TestVhost } from '../../../test/support/broker';
import {
  aegir,
  createConsoleTestDatabase,
  type CliResult,
  type ConsoleTestDatabase,
  createdOperation,
} from '../../../test/support/cli';
import { testDataSourceOptions, type TestDatabase } from '../../../test/support/database';
import { testPlan } from '../../../test/support/messages';
import { createTestKeys } from '../../../test/support/keys';
import { buildParams } from './flags';
import { printable } from './dead-letters';
import { formatDuration, formatLines } from './format';
import { firstGap } from './commands/op-log.command';

const runFile = promisify(execFile);

describe('aegir console', () => {
  let cli: ConsoleTestDatabase;
  let db: TestDatabase;
  let sql: Client;
  let run: (...args: string[]) => Promise<CliResult>;

  before(async () => {
    cli = await createConsoleTestDatabase('aegir_test_console', { migrate: false });
    ({ db, sql, run } = cli);
  });

  after(() => cli?.close());

  it('db:migrate applies the migrations to an empty database, then has nothing to do', async () => {
    const first = await run('db:migrate');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      first.stdout,
      'applied Init1764500000000\napplied AttemptsCancelExclusive1764600000000\napplied LogLinesBulk1764700000000\napplied TokensAudit1764800000000\napplied OutboxPublishedPayload1764950000000\napplied Dispatchers1765000000000\n',
    );
    const again = await run('db:migrate');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'database is up to date\n');
  });

  let id: string;

  it('op:create queues an operation with its params', async () => {
    const result = await run(
      'op:create',
      'demo.hello',
      '--target',
      'web1',
      '--param',
      'greeting=hey',
      '--json',
    );
    assert.equal(result.code, 0, result.stderr);
    const view = JSON.parse(result.stdout) as { id: string; status: string };
    id = view.id;
    assert.equal(view.status, 'queued');
    const { rows } = await sql.query(
      `SELECT o.type, o.target, o.params, count(t.id)::int AS tasks,
              (SELECT count(*)::int FROM outbox WHERE operation_id = o.id) AS outbox
         FROM operations o JOIN tasks t ON t.operation_id = o.id
        WHERE o.id = $1 GROUP BY o.id`,
      [id],
    );
    assert.deepEqual(rows, [
      { type: 'demo.hello', target: 'web1', params: { greeting: 'hey' }, tasks: 1, outbox: 1 },
    ]);
  });

  it('op:create reads --param values as JSON when they parse', async () => {
    const result = await run('op:create', 'test.lines', '-t', 'web2', '-p', 'count=7');
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^operation [0-9a-f-]{36} queued: test\.lines on web2 \(1 task\)\n$/,
    );
    const { rows } = await sql.query(`SELECT params FROM operations WHERE type = 'test.lines'`);
    assert.deepEqual(rows, [{ params: { count: 7 } }]);
  });

  it('op:create refuses params that break the schema, naming the field', async () => {
    const before = await sql.query(`SELECT count(*)::int AS n FROM operations`);
    const result = await run(
      'op:create',
      'demo.hello',
      '--target',
      'web1',
      '--param',
      'greeting=5',
    );
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'error: params.greeting must be string\n');
    const unknown = await run(
      'op:create',
      'test.echo',
      '--target',
      'web1',
      '--params',
      '{"message":"x","extra":1}',
    );
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: params\.extra is not a known parameter$/m);
    const badType = await run('op:create', 'nope', '--target', 'web1');
    assert.equal(badType.code, 1);
    assert.match(badType.stderr, /^error: type "nope" is not in the catalogue/);
    const badFlag = await run('op:create', 'test.echo', '--target', 'web1', '--param', 'novalue');
    assert.equal(badFlag.code, 1);
    assert.match(badFlag.stderr, /^error: --param must be key=value/);
    const after = await sql.query(`SELECT count(*)::int AS n FROM operations`);
    assert.deepEqual(after.rows, before.rows);
  });

  it('op:list shows the operations in a table, filtered', async () => {
    await sql.query(`UPDATE operations SET status = 'running' WHERE id = $1`, [id]);
    const all = await run('op:list');
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^ID\s+TYPE\s+TARGET\s+STATUS\s+CREATED\s+DURATION$/);
    assert.equal(lines.length, 3);
    assert.match(lines[1], /test\.lines\s+web2\s+queued/);
    assert.match(
      lines[2],
      new RegExp(`^${id}\\s+demo\\.hello\\s+web1\\s+running\\s+\\d{4}-\\d\\d-\\d\\d `),
    );

    const running = await run('op:list', '--status', 'running', '--json');
    assert.equal(running.code, 0, running.stderr);
    const page = JSON.parse(running.stdout) as { items: { id: string }[]; nextCursor: null };
    assert.deepEqual(
      page.items.map((item) => item.id),
      [id],
    );

    const one = await run('op:list', '--limit', '1');
    assert.match(one.stdout, /test\.lines/);
    assert.doesNotMatch(one.stdout, /demo\.hello/);
    assert.match(one.stdout, /^more: --cursor \S+$/m);

    assert.equal((await run('op:list', '--type', 'nothing')).stdout, 'no operations\n');
  });

  it('op:list refuses bad flags, naming them', async () => {
    const limit = await run('op:list', '--limit', 'lots');
    assert.equal(limit.code, 1);
    assert.equal(limit.stderr, 'error: --limit must be an integer from 1 to 200, got "lots"\n');
    const status = await run('op:list', '--status', 'finished');
    assert.equal(status.code, 1);
    assert.match(status.stderr, /^error: --status must be one of queued, /);
    const unknown = await run('op:list', '--colour', 'red');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown option '--colour'/);
  });

  it('op:create seals a secret param as the api does; op:show shows ********', async () => {
    const password = `console-${randomUUID()}`;
    const noKeys = await run(
      'op:create',
      'test.secret',
      '-t',
      'web1',
      '-p',
      `password=${password}`,
    );
    assert.equal(noKeys.code, 1);
    assert.match(
      noKeys.stderr,
      /^error: this type has secret parameters: set API_SEALING_KEYS_DIR/,
    );
    const keys = createTestKeys();
    try {
      const created = await aegir(
        ['op:create', 'test.secret', '-t', 'web1', '-p', `password=${password}`, '--json'],
        { DATABASE_URL: db.url, ...keys.apiEnv() },
      );
      assert.equal(created.code, 0, created.stderr);
      const view = JSON.parse(created.stdout) as { id: string; params: unknown };
      assert.deepEqual(view.params, { password: '********', user: 'admin' });
      const [row] = (
        await sql.query<{ params: { password: { sealed: string } } }>(
          `SELECT params FROM operations WHERE id = $1`,
          [view.id],
        )
      ).rows;
      assert.deepEqual(Object.keys(row.params.password), ['sealed']);
      const shown = await run('op:show', view.id);
      assert.match(shown.stdout, /^params\s+\{.*"password":"\*{8}".*\}$/m);
      for (const output of [created.stdout, shown.stdout, JSON.stringify(row)]) {
        assert.ok(!output.includes(password));
      }
    } finally {
      keys.remove();
    }
  });

  it('op:show shows the operation and its tasks', async () => {
    await sql.query(
      `UPDATE tasks SET status = 'failed', exit_code = 4, reason = 'playbook failed',
              started_at = now() - interval '2 seconds', finished_at = now()
        WHERE operation_id = $1`,
      [id],
    );
    const result = await run('op:show', id);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^operation\\s+${id}$`, 'm'));
    assert.match(result.stdout, /^status\s+running$/m);
    assert.match(result.stdout, /^params\s+\{"greeting":"hey"\}$/m);
    assert.match(
      result.stdout,
      /^0\s+hello\s+ansible-playbook\s+failed\s+4\s+\S+ \S+\s+2\.0s\s+playbook failed$/m,
    );

    assert.match(result.stdout, /^attempt\s+1$/m);
    assert.match(result.stdout, /^retry of\s+-$/m);
    assert.match(result.stdout, /^cancel requested\s+-$/m);
    assert.match(result.stdout, /^lines\s+-$/m);

    const json = await run('op:show', id, '--json');
    assert.equal(JSON.parse(json.stdout).tasks[0].exitCode, 4);

    const missing = await run('op:show', randomUUID());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: operation \S+ not found\n$/);
    const malformed = await run('op:show', 'abc');
    assert.equal(malformed.code, 1);
    assert.equal(malformed.stderr, 'error: id must be a UUID, got "abc"\n');
  });

  it('op:log prints the lines in order, stderr lines on stderr', async () => {
    for (const [seq, stream, text] of [
      [2, 'stderr', 'two'],
      [1, 'stdout', 'one'],
      [3, 'system', 'three'],
    ] as const) {
      await sql.query(
        `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at) VALUES ($1, $2, $3, $4, now())`,
        [id, seq, stream, text],
      );
    }
    const result = await run('op:log', id);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'one\nthree\n');
    assert.equal(result.stderr, 'two\n');
    const later = await run('op:log', id, '--after', '1', '--json');
    assert.deepEqual(
      later.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).seq),
      [2, 3],
    );
    const bad = await run('op:log', id, '--after', '-1');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: --after must be an integer/);
  });

  it('op:log escapes control characters from a task unless --raw', async () => {
    const created = await run('op:create', 'demo.hello', '--target', 'web1', '--json');
    const op = JSON.parse(created.stdout) as { id: string };
    const hostile =
      'red \u001b[31mX\u001b]0;title\u0007 bell\u0007 cr\r del\u007f csi\u009b bidi\u202e tab\tok';
    await sql.query(
      `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at) VALUES ($1, 1, 'stdout', $2, now())`,
      [op.id, hostile],
    );
    const shown = await run('op:log', op.id);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(
      shown.stdout,
      'red \\x1b[31mX\\x1b]0;title\\x07 bell\\x07 cr\\x0d del\\x7f csi\\x9b bidi\\u202e tab\tok\n',
    );
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    assert.doesNotMatch(shown.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    const raw = await run('op:log', op.id, '--raw');
    assert.equal(raw.stdout, `${hostile}\n`);
  });

  it('op:log --follow prints lines as they come until the operation ends', async () => {
    const follow = run('op:log', id, '--follow', '--after', '3');
    await sleep(700);
    await sql.query(
      `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at) VALUES ($1, 4, 'stdout', 'four', now())`,
      [id],
    );
    await sleep(400);
    await sql.query(
      `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at) VALUES ($1, 5, 'stdout', 'five', now())`,
      [id],
    );
    await sql.query(`UPDATE operations SET status = 'failed', line_count = 5 WHERE id = $1`, [id]);
    const result = await follow;
    assert.equal(result.stdout, 'four\nfive\n-- failed\n');
    assert.equal(result.code, 2);

    const done = await run('op:log', id, '--follow');
    assert.equal(done.stdout, 'one\nthree\nfour\nfive\n-- failed\n');
  });

  it('op:log --follow exits 0 for a succeeded operation', async () => {
    await sql.query(`UPDATE operations SET status = 'succeeded' WHERE type = 'test.lines'`);
    const { rows } = await sql.query(`SELECT id FROM operations WHERE type = 'test.lines'`);
    const result = await run('op:log', rows[0].id, '--follow');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '-- succeeded\n');
  });

  it('says which database it cannot reach, without the password', async () => {
    const result = await aegir(['op:list'], {
      DATABASE_URL: 'postgres://aegir:s3cret@127.0.0.1:1/aegir',
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error: cannot reach PostgreSQL at postgres:\/\/aegir:\*\*\*@127\.0\.0\.1:1\/aegir: .*ECONNREFUSED/,
    );
    assert.doesNotMatch(result.stderr, /s3cret/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it('needs no database for help or for refusing a bad request', async () => {
    const down = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/aegir' };
    const help = await aegir(['--help'], down);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: aegir /);
    for (const command of [
      'db:migrate',
      'op:create',
      'op:list',
      'op:show',
      'op:log',
      'op:cancel',
      'op:retry',
      'dlq:list',
      'workers',
    ]) {
      assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    }
    const refused = await aegir(
      ['op:create', 'demo.hello', '-t', 'web1', '-p', 'greeting={x}'],
      down,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: params\.greeting must match pattern/);
  });
});

describe('aegir workers', () => {
  let cli: ConsoleTestDatabase;
  let ds: DataSource;
  let run: (...args: string[]) => Promise<CliResult>;
  let operationId: string;

  before(async () => {
    cli = await createConsoleTestDatabase('aegir_test_console_workers');
    run = cli.run;
    ds = new DataSource(testDataSourceOptions(cli.db.url));
    await ds.initialize();
  });

  after(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await cli?.close();
  });

  it('says when no dispatcher has been seen', async () => {
    const result = await run('workers');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'no dispatchers seen\n');
  });

  it('shows each dispatcher seen, what it runs, alive or silent, in a table', async () => {
    const state = new OperationStateRepository(ds);
    operationId = await state.create(testPlan({ target: 'web7' }));
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
    // as the relay records them, with its default horizon of 60 s
    await ds.transaction((manager) =>
      state.recordHeartbeats(manager, [
        {
          v: 1,
          kind: 'heartbeat',
          dispatcherId: 'web-worker-1',
          pool: 'default',
          operations: [operationId],
          at: ago(2),
          concurrency: 4,
        },
        {
          v: 1,
          kind: 'heartbeat',
          dispatcherId: 'old-one',
          pool: 'batch',
          operations: [],
          at: ago(300),
        },
      ]),
    );
    const result = await run('workers');
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(
      lines[0],
      /^DISPATCHER\s+POOL\s+STATE\s+RUNNING\s+LAST SEEN\s+FIRST SEEN\s+OPERATIONS$/,
    );
    assert.equal(lines.length, 3);
    assert.match(
      lines[1],
      /^old-one\s+batch\s+silent\s+0\s+5m0\ds ago\s+\d{4}-\d\d-\d\d [\d:]{8}Z\s+-$/,
    );
    assert.match(
      lines[2],
      new RegExp(
        `^web-worker-1\\s+default\\s+alive\\s+1/4\\s+\\d+\\.\\ds ago\\s+\\S+ \\S+\\s+${operationId} \\(demo\\.hello on web7\\)$`,
      ),
    );
  });

  it('--pool shows one pool; --json prints what GET /api/v1/workers answers', async () => {
    const batch = await run('workers', '--pool', 'batch');
    assert.equal(batch.code, 0, batch.stderr);
    assert.doesNotMatch(batch.stdout, /web-worker-1/);
    assert.match(batch.stdout, /^old-one\s/m);
    const json = await run('workers', '--pool', 'default', '--json');
    assert.equal(json.code, 0, json.stderr);
    const { items } = JSON.parse(json.stdout) as { items: Record<string, unknown>[] };
    assert.equal(items.length, 1);
    const { firstSeenAt, lastSeenAt, silentAfter, lastSeenAgoMs, ...rest } = items[0];
    assert.deepEqual(rest, {
      dispatcherId: 'web-worker-1',
      pool: 'default',
      state: 'alive',
      running: 1,
      concurrency: 4,
      operations: [{ id: operationId, type: 'demo.hello', target: 'web7' }],
    });
    assert.equal(Date.parse(String(silentAfter)) - Date.parse(String(lastSeenAt)), 60_000);
    assert.ok(Date.parse(String(firstSeenAt)) <= Date.parse(String(lastSeenAt)));
    assert.equal(typeof lastSeenAgoMs, 'number');
    const none = await run('workers', '--pool', 'nobody');
    assert.equal(none.stdout, 'no dispatchers seen in pool nobody\n');
  });

  it('refuses a --pool that is no pool name, with exit code 2', async () => {
    const result = await run('workers', '--pool', 'Bad Pool');
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'error: --pool must match ^[a-z0-9][a-z0-9_-]{0,62}$, got "Bad Pool"\n',
    );
  });
});

describe('aegir op:cancel and op:retry', () => {
  let cli: ConsoleTestDatabase;
  let sql: Client;
  let run: (...args: string[]) => Promise<CliResult>;

  before(async () => {
    cli = await createConsoleTestDatabase('aegir_test_console_ops');
    ({ sql, run } = cli);
  });

  after(() => cli?.close());

  const create = (...args: string[]) => createdOperation(run, ...args);
  const setStatus = (id: string, status: string) =>
    sql.query(`UPDATE operations SET status = $2 WHERE id = $1`, [id, status]);
  const cancelRows = async (id: string): Promise<number> =>
    (
      await sql.query(
        `SELECT count(*)::int AS n FROM outbox WHERE operation_id = $1 AND kind = 'cancel'`,
        [id],
      )
    ).rows[0].n;

  let cancelled: string;

  it('op:cancel cancels a queued operation and its tasks at once', async () => {
    cancelled = await create('test.fail', '-t', 'db1');
    const result = await run('op:cancel', cancelled, '--reason', 'not today');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `operation ${cancelled} cancelled: not today\n`);
    const { rows } = await sql.query(
      `SELECT o.status, o.reason, array_agg(DISTINCT t.status) AS tasks
         FROM operations o JOIN tasks t ON t.operation_id = o.id
        WHERE o.id = $1 GROUP BY o.id`,
      [cancelled],
    );
    assert.deepEqual(rows, [{ status: 'cancelled', reason: 'not today', tasks: ['cancelled'] }]);
    assert.equal(await cancelRows(cancelled), 0);
  });

  it('op:cancel refuses a finished, unknown or malformed operation', async () => {
    const again = await run('op:cancel', cancelled);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `error: operation ${cancelled} is already cancelled\n`);
    const unknown = randomUUID();
    const missing = await run('op:cancel', unknown);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `error: operation ${unknown} not found\n`);
    const malformed = await run('op:cancel', 'abc');
    assert.equal(malformed.code, 1);
    assert.equal(malformed.stderr, 'error: id must be a UUID, got "abc"\n');
    const long = await run('op:cancel', cancelled, '--reason', 'x'.repeat(501));
    assert.equal(long.code, 1);
    assert.equal(long.stderr, 'error: --reason must be 1 to 500 characters\n');
  });

  it('op:cancel asks the dispatcher to stop a running operation, once', async () => {
    const id = await create('test.sleep', '-t', 'db2');
    await sql.query(
      `UPDATE operations SET status = 'running', dispatcher_id = 'd-1' WHERE id = $1`,
      [id],
    );
    const result = await run('op:cancel', id);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^operation ${id} is running: cancel sent to dispatcher d-1;`),
    );
    const json = await run('op:cancel', id, '--json');
    assert.equal(json.code, 0, json.stderr);
    const view = JSON.parse(json.stdout) as { status: string; cancelRequestedAt: string | null };
    assert.equal(view.status, 'running');
    assert.ok(view.cancelRequestedAt);
    assert.equal(await cancelRows(id), 1);

    const shown = await run('op:show', id);
    assert.match(shown.stdout, /^cancel requested\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/m);
  });

  let retry: string;

  it('op:retry starts attempt 2 of a finished operation, linked to it', async () => {
    const result = await run('op:retry', cancelled);
    assert.equal(result.code, 0, result.stderr);
    const match = /^operation (\S+) queued: attempt 2 of test\.fail on db1, retrying (\S+)\n$/.exec(
      result.stdout,
    );
    assert.ok(match, result.stdout);
    assert.equal(match[2], cancelled);
    retry = match[1];
    const { rows } = await sql.query(
      `SELECT attempt, retry_of, status FROM operations WHERE id = $1`,
      [retry],
    );
    assert.deepEqual(rows, [{ attempt: 2, retry_of: cancelled, status: 'queued' }]);

    const shown = await run('op:show', retry);
    assert.match(shown.stdout, /^attempt\s+2$/m);
    assert.match(shown.stdout, new RegExp(`^retry of\\s+${cancelled}$`, 'm'));
    const original = await run('op:show', cancelled);
    assert.match(original.stdout, new RegExp(`^retried as\\s+${retry}$`, 'm'));
  });

  it('op:retry refuses what the api refuses, with the same messages', async () => {
    const twice = await run('op:retry', cancelled);
    assert.equal(twice.code, 1);
    assert.equal(
      twice.stderr,
      `error: operation ${cancelled} has already been retried as ${retry}; retry that one to go on\n`,
    );
    const queued = await run('op:retry', retry);
    assert.equal(queued.code, 1);
    assert.equal(
      queued.stderr,
      `error: operation ${retry} is queued; only a failed, timed_out, lost or cancelled operation can be retried\n`,
    );
    const unknown = randomUUID();
    const missing = await run('op:retry', unknown);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `error: operation ${unknown} not found\n`);

    // Planned through the catalogue as it is now: params that no longer fit are refused.
    const echo = await create('test.echo', '-t', 'db3', '-p', 'message=hi');
    await sql.query(
      `UPDATE operations SET status = 'failed', params = '{"message": 7}' WHERE id = $1`,
      [echo],
    );
    const stale = await run('op:retry', echo);
    assert.equal(stale.code, 1);
    assert.equal(stale.stderr, 'error: params.message must be string\n');
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n FROM operations WHERE retry_of = $1`,
      [echo],
    );
    assert.equal(rows[0].n, 0);
  });

  it('op:retry --json prints the new operation; op:show shows whether every line arrived', async () => {
    const id = await create('test.lines', '-t', 'db4', '-p', 'count=3');
    await setStatus(id, 'lost');
    const result = await run('op:retry', id, '--json');
    assert.equal(result.code, 0, result.stderr);
    const view = JSON.parse(result.stdout) as { attempt: number; retryOf: string; params: unknown };
    assert.deepEqual([view.attempt, view.retryOf, view.params], [2, id, { count: 3 }]);

    await sql.query(`UPDATE operations SET line_count = 3, lines_stored = 2 WHERE id = $1`, [id]);
    assert.match(
      (await run('op:show', id)).stdout,
      /^lines\s+3 emitted, 2 stored \(INCOMPLETE\)$/m,
    );
    await sql.query(`UPDATE operations SET lines_stored = 3 WHERE id = $1`, [id]);
    assert.match((await run('op:show', id)).stdout, /^lines\s+3 emitted, 3 stored \(complete\)$/m);
  });
});

describe('aegir dlq:list', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;

  before(async () => {
    vhost = await createTestVhost('aegir_test_dlq');
    connection = await connect(vhost.url);
    const channel = await connection.createChannel();
    await declareTopology(channel, brokerTopology(['default']));
    await channel.close();
  });

  after(async () => {
    await connection?.close();
    await vhost?.delete();
  });

  const list = (...args: string[]) => aegir(['dlq:list', ...args], { AMQP_URL: vhost.url });

  it('says when the dead-letter queue is empty', async () => {
    const result = await list();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'dead-letter queue aegir.dead-letter is empty\n');
  });

  it('shows each message with its reason, and leaves them all in the queue', async () => {
    const channel = await connection.createConfirmChannel();
    const publish = (body: string, headers: Record<string, string>, options: object = {}) =>
      new Promise<void>((done, fail) =>
        channel.publish(
          'aegir.dead-letter',
          'log',
          Buffer.from(body),
          { headers, ...options },
          (error: unknown) => (error ? fail(asError(error)) : done()),
        ),
      );
    await publish(
      'not json {',
      {
        'x-aegir-reason': 'body is not valid JSON',
        'x-aegir-queue': 'aegir.events',
      },
      { type: 'log', messageId: 'm-1' },
    );
    await publish(`{"v":9,"text":"${'x'.repeat(300)}"}\n\u0000tail`, {
      'x-aegir-reason': 'unsupported message version 9',
      'x-aegir-queue': 'aegir.dispatch.default',
    });
    // One the broker dead-lettered itself: rejected by a consumer of a work queue.
    await new Promise<void>((done, fail) =>
      channel.publish('aegir.dispatch', 'default', Buffer.from('{}'), {}, (error: unknown) =>
        error ? fail(asError(error)) : done(),
      ),
    );
    const taken = await channel.get('aegir.dispatch.default', { noAck: false });
    assert.ok(taken);
    channel.nack(taken, false, false);
    await channel.close();
    await waitFor(async () => (await queueDepths(vhost.name))['aegir.dead-letter'] === 3);

    const result = await list();
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.equal(lines[0], 'dead-letter queue aegir.dead-letter: 3 messages; none removed');
    assert.match(lines[2], /^#\s+REASON\s+QUEUE\s+ROUTING KEY\s+TYPE\s+MESSAGE ID\s+BODY$/);
    assert.match(
      lines[3],
      /^1\s+body is not valid JSON\s+aegir\.events\s+log\s+log\s+m-1\s+not json \{$/,
    );
    assert.match(
      lines[4],
      /^2\s+unsupported message version 9\s+aegir\.dispatch\.default\s+log\s+-\s+-\s+\{"v":9/,
    );
    assert.match(lines[4], / … \(\d+ bytes\)$/, 'a long body is cut short');
    assert.match(
      lines[5],
      /^3\s+rejected by the broker from aegir\.dispatch\.default\s+aegir\.dispatch\.default\s+default\s/,
    );

    // Nothing was taken away: the queue holds them all, and they can be listed again.
    await waitFor(async () => (await queueDepths(vhost.name))['aegir.dead-letter'] === 3);
    const json = await list('--json');
    assert.equal(json.code, 0, json.stderr);
    const messages = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      messages.map((message) => message.reason),
      [
        'body is not valid JSON',
        'unsupported message version 9',
        'rejected by the broker from aegir.dispatch.default',
      ],
    );
    assert.equal((messages[1].body as string).length, 200);
    assert.equal(messages[1].truncated, true);
    assert.deepEqual(
      [messages[0].queue, messages[0].routingKey, messages[0].type, messages[0].messageId],
      ['aegir.events', 'log', 'log', 'm-1'],
    );
    await waitFor(async () => (await queueDepths(vhost.name))['aegir.dead-letter'] === 3);
  });

  it('shows only --limit messages, and says how many there are', async () => {
    const result = await list('--limit', '1');
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^dead-letter queue aegir\.dead-letter: 3 messages, showing the first 1 \(--limit\); none removed\n/,
    );
    assert.equal(result.stdout.trimEnd().split('\n').length, 4);
    const bad = await list('--limit', '1001');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'error: --limit must be an integer from 1 to 1000, got "1001"\n');
    await waitFor(async () => (await queueDepths(vhost.name))['aegir.dead-letter'] === 3);
  });

  it('says which broker it cannot reach, without the password', async () => {
    const result = await aegir(['dlq:list'], { AMQP_URL: 'amqp://guest:s3cret@127.0.0.1:1/' });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error: cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1\/: .*ECONNREFUSED/,
    );
    assert.doesNotMatch(result.stderr, /s3cret/);
  });
});

const asError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error));

/** Polls until `check` holds (the broker's counts lag a little), or fails after a while. */
async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await sleep(200);
  }
}

describe('console helpers', () => {
  it('builds params from --params and --param', () => {
    assert.deepEqual(
      buildParams('{"a":1,"b":"x"}', ['b=2', 'c=true', 'd=hello', 'e="5"', 'f=a=b']),
      {
        a: 1,
        b: 2,
        c: true,
        d: 'hello',
        e: '5',
        f: 'a=b',
      },
    );
    const polluted = buildParams(undefined, ['__proto__={"admin":true}']);
    assert.equal(({} as { admin?: boolean }).admin, undefined);
    assert.deepEqual(Object.keys(polluted), ['__proto__']);
    assert.throws(() => buildParams('[1]', []), /--params must be a JSON object/);
    assert.throws(() => buildParams('{', []), /--params is not valid JSON/);
    assert.throws(() => buildParams(undefined, ['=x']), /--param must be key=value/);
  });

  it('escapes control characters, so a message body stays on its row', () => {
    assert.equal(
      printable('a\nb\r\tc\u0000\u001b[31m\u007f\u009fé€'),
      'a\\nb\\r\\tc\\x00\\x1b[31m\\x7f\\x9fé€',
    );
  });

  it('formats emitted and stored line counts', () => {
    const lines = (lineCount: number | null, linesStored: number | null) =>
      formatLines({ lineCount, linesStored });
    assert.equal(lines(null, null), '-');
    assert.equal(lines(5, null), '5 emitted');
    assert.equal(lines(null, 4), '4 stored (how many were emitted is not known)');
    assert.equal(lines(5, 5), '5 emitted, 5 stored (complete)');
    assert.equal(lines(5, 4), '5 emitted, 4 stored (INCOMPLETE)');
  });

  it('formats durations', () => {
    assert.equal(formatDuration(null), '-');
    assert.equal(formatDuration(850), '850ms');
    assert.equal(formatDuration(12_340), '12.3s');
    assert.equal(formatDuration(245_000), '4m05s');
    assert.equal(formatDuration(7_380_000), '2h03m');
  });

  it('finds the first missing seq', () => {
    const lines = (seqs: number[]) =>
      seqs.map((seq) => ({
        seq,
        taskId: null,
        stream: 'stdout' as const,
        text: '',
        at: '',
        continues: false,
      }));
    assert.equal(firstGap(lines([4, 5, 6]), 3), 3);
    assert.equal(firstGap(lines([4, 6]), 3), 1);
    assert.equal(firstGap(lines([5]), 3), 0);
    assert.equal(firstGap([], 3), 0);
  });
});

describe('aegir broker:setup', () => {
  let vhost: TestVhost;
  let outDir: string;
  const setup = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    aegir(['broker:setup', ...args], {
      AMQP_URL: vhost.url.replace(/\/\/[^@]*@/, '//'), // its credentials are not used
      BROKER_ADMIN_URL: vhost.adminUrl,
      ...env,
    });
  const permissions = async (name: string) => {
    const { stdout } = await runFile('rabbitmqctl', [
      '-q',
      'list_permissions',
      '-p',
      name,
      '--no-table-headers',
    ]);
    return stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([user]) => user !== 'guest')
      .sort();
  };
  const canConnect = async (url: string) => {
    const connection = await connect(url);
    await connection.close();
    return true;
  };

  before(async () => {
    vhost = await createTestVhost('aegir_test_setup');
    outDir = await mkdtemp(join(tmpdir(), 'aegir-setup-spec-'));
  });

  after(async () => {
    await vhost?.delete();
    await rm(outDir, { recursive: true, force: true });
  });

  it('refuses to make users whose generated passwords nobody could read, changing nothing', async () => {
    const result = await setup([]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `^error: aegir-relay@${vhost.name}, aegir-console@${vhost.name}, aegir-dispatcher-default@${vhost.name} would get a generated password that nobody could read: give --out DIR`,
      ),
    );
    assert.deepEqual(await permissions(vhost.name), []);
  });

  it('makes each user with exactly its permissions, the topology, and 0600 URL files', async () => {
    const result = await setup(['--out', join(outDir, 'urls')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`user     aegir-relay@${vhost.name}: created, its URL in`),
    );
    const expected = brokerUsers(vhost.name, ['default'])
      .map((user) => [
        user.name,
        user.permissions.configure,
        user.permissions.write,
        user.permissions.read,
      ])
      .sort();
    assert.deepEqual(await permissions(vhost.name), expected);
    assert.deepEqual(expected.find(([name]) => name.startsWith('aegir-relay'))?.slice(1), [
      '^$',
      '^(aegir\\.dispatch|aegir\\.control|aegir\\.dead-letter|amq\\.default)$',
      '^(aegir\\.events|aegir\\.claims)$',
    ]);
    assert.equal((await stat(join(outDir, 'urls'))).mode & 0o777, 0o700);
    for (const role of ['relay', 'console', 'dispatcher-default']) {
      const file = join(outDir, 'urls', `${role}.url`);
      assert.equal((await stat(file)).mode & 0o777, 0o600, file);
      const url = (await readFile(file, 'utf8')).trim();
      assert.equal(decodeURIComponent(new URL(url).username), `aegir-${role}@${vhost.name}`);
      assert.ok(await canConnect(url));
      assert.ok(!result.stdout.includes(new URL(url).password), 'no password on stdout');
    }
    const depths = await queueDepths(vhost.name);
    assert.deepEqual(Object.keys(depths).sort(), [
      'aegir.claims',
      'aegir.dead-letter',
      'aegir.dispatch.default',
      'aegir.events',
    ]);
  });

  it('keeps every password on a second run, sets the given ones, and rotates on request', async () => {
    const relayUrl = (await readFile(join(outDir, 'urls', 'relay.url'), 'utf8')).trim();
    const again = await setup([]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /aegir-relay@\S+: kept/);
    assert.ok(await canConnect(relayUrl), 'the relay still connects');

    const given = await setup(['--out', join(outDir, 'given')], {
      BROKER_RELAY_PASSWORD: 'relay-secret-1',
      BROKER_DISPATCHER_PASSWORDS: 'default=pool-secret-2',
    });
    assert.equal(given.code, 0, given.stderr);
    assert.match(given.stdout, /aegir-relay@\S+: password set/);
    assert.match(given.stdout, /aegir-console@\S+: kept/);
    const givenUrl = (await readFile(join(outDir, 'given', 'relay.url'), 'utf8')).trim();
    assert.equal(new URL(givenUrl).password, 'relay-secret-1');
    assert.ok(await canConnect(givenUrl));
    await assert.rejects(canConnect(relayUrl), /ACCESS_REFUSED|403/);

    const rotated = await setup(['--rotate', '--out', join(outDir, 'rotated')]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const consoleUrl = (await readFile(join(outDir, 'rotated', 'console.url'), 'utf8')).trim();
    assert.ok(await canConnect(consoleUrl));
  });

  it('names what is wrong without showing a password', async () => {
    const bad = await setup([], { BROKER_DISPATCHER_PASSWORDS: 'Bad Pool=hunter2' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /BROKER_DISPATCHER_PASSWORDS entry 1 must be pool=password/);
    assert.ok(!bad.stderr.includes('hunter2'));
    const away = await setup([], { BROKER_ADMIN_URL: 'http://admin:s3cret@127.0.0.1:1' });
    assert.equal(away.code, 1);
    assert.match(
      away.stderr,
      /cannot reach the RabbitMQ management API at http:\/\/admin:\*\*\*@127\.0\.0\.1:1/,
    );
    assert.ok(!away.stderr.includes('s3cret'));
  });
});
