import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { buildParams } from './flags';
import { formatDuration } from './format';
import { firstGap } from './commands/op-log.command';

const root = resolve(__dirname, '../../../..');
const cli = join(__dirname, 'main.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function aegir(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: {
        ...process.env,
        CATALOGUE_DIR: join(root, 'test/fixtures/catalogue'),
        PLAYBOOKS_DIR: join(root, 'test/fixtures/playbooks'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe('aegir console', () => {
  let db: TestDatabase;
  let sql: Client;
  let run: (...args: string[]) => Promise<Result>;

  before(async () => {
    db = await createTestDatabase('aegir_test_console', { migrate: false });
    run = (...args) => aegir(args, { DATABASE_URL: db.url });
  });

  after(async () => {
    await sql?.end();
    await db?.drop();
  });

  it('db:migrate applies the migrations to an empty database, then has nothing to do', async () => {
    const first = await run('db:migrate');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'applied Init1764500000000\n');
    const again = await run('db:migrate');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'database is up to date\n');
    sql = new Client({ connectionString: db.url });
    await sql.connect();
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
    for (const command of ['db:migrate', 'op:create', 'op:list', 'op:show', 'op:log']) {
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

  it('formats durations', () => {
    assert.equal(formatDuration(null), '-');
    assert.equal(formatDuration(850), '850ms');
    assert.equal(formatDuration(12_340), '12.3s');
    assert.equal(formatDuration(245_000), '4m05s');
    assert.equal(formatDuration(7_380_000), '2h03m');
  });

  it('finds the first missing seq', () => {
    const lines = (seqs: number[]) =>
      seqs.map((seq) => ({ seq, taskId: null, stream: 'stdout' as const, text: '', at: '' }));
    assert.equal(firstGap(lines([4, 5, 6]), 3), 3);
    assert.equal(firstGap(lines([4, 6]), 3), 1);
    assert.equal(firstGap(lines([5]), 3), 0);
    assert.equal(firstGap([], 3), 0);
  });
});
