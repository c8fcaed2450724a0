import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import {
  aegir,
  createConsoleTestDatabase,
  runCli,
  type CliResult,
  type ConsoleTestDatabase,
  createdOperation,
} from '../../../test/support/cli';
import { fixtures } from '../../../test/support/processes';
import { buildParams, durationFlag, timeFlag } from './flags';
import { progressText, ProgressLine, WAIT_TIMEOUT_EXIT } from './operations/wait';
import { DATABASE_POLL_MS } from './operations/database-operations';
import type { OperationView } from '@app/database';
import { freeLocalPort } from '@app/platform';

const ID = /[0-9a-f-]{36}/;

describe('aegir op:wait, --params-file, op:list filters (local database)', () => {
  let cli: ConsoleTestDatabase;
  let sql: Client;
  let run: (...args: string[]) => Promise<CliResult>;
  const withInput = (input: string, ...args: string[]) =>
    runCli(
      args,
      {
        ...process.env,
        CATALOGUE_DIR: fixtures.catalogueDir,
        PLAYBOOKS_DIR: fixtures.playbooksDir,
        DATABASE_URL: cli.db.url,
      },
      60_000,
      input,
    );

  before(async () => {
    cli = await createConsoleTestDatabase('aegir_test_console_wait');
    ({ sql, run } = cli);
  });

  after(() => cli?.close());

  const create = (...args: string[]) => createdOperation(run, ...args);
  /** Ends an operation as the relay would: the UPDATE, then NOTIFY aegir_status with its id. */
  const end = (id: string, status: string) =>
    sql.query(
      `WITH done AS (UPDATE operations SET status = $2, finished_at = now() WHERE id = $1 RETURNING id)
       SELECT pg_notify('aegir_status', $1::text) FROM done`,
      [id, status],
    );

  it('op:wait wakes on the NOTIFY, well before its safety poll, and exits with the final status', async () => {
    const id = await create('test.fail', '-t', 'wait1');
    const waiting = run('op:wait', id);
    // the CLI needs a moment to start and LISTEN; the status changes only after that
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const endedAt = Date.now();
    await end(id, 'failed');
    const result = await waiting;
    const took = Date.now() - endedAt;
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout, new RegExp(`^operation ${id} failed after \\S+\\n$`));
    // not a TTY: no progress line, nothing on stderr
    assert.equal(result.stderr, '');
    assert.ok(took < DATABASE_POLL_MS, `ended ${took} ms after the NOTIFY`);
  });

  it('op:wait of an operation that has ended answers at once; its codes for every end', async () => {
    for (const [status, code] of [
      ['succeeded', 0],
      ['timed_out', 3],
      ['cancelled', 4],
      ['lost', 5],
    ] as const) {
      const id = await create('test.echo', '-t', `wait-${status}`, '-p', 'message=x');
      await end(id, status);
      const result = await run('op:wait', id, '--json');
      assert.equal(result.code, code, `${status}: ${result.stderr}`);
      assert.equal((JSON.parse(result.stdout) as OperationView).status, status);
    }
  });

  it(`op:wait --timeout gives up with exit ${WAIT_TIMEOUT_EXIT}, and the operation goes on`, async () => {
    const id = await create('test.sleep', '-t', 'wait2');
    const result = await run('op:wait', id, '--timeout', '1s');
    assert.equal(result.code, WAIT_TIMEOUT_EXIT);
    assert.equal(
      result.stderr,
      `error: operation ${id} is still queued after 1s (--timeout); it goes on\n`,
    );
    const { rows } = await sql.query(`SELECT status FROM operations WHERE id = $1`, [id]);
    assert.equal(rows[0].status, 'queued');

    const created = await run(
      'op:create',
      'test.sleep',
      '-t',
      'wait3',
      '--wait',
      '--timeout',
      '1s',
    );
    assert.equal(created.code, WAIT_TIMEOUT_EXIT);
    assert.match(created.stdout, /^operation \S+ queued: test\.sleep on wait3 \(1 task\)\n$/);
    assert.match(created.stderr, /is still queued after 1s \(--timeout\); it goes on\n$/);

    const bad = await run('op:wait', id, '--timeout', '30');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: --timeout must be a duration like 90s, 30m or 2h/);
    const alone = await run('op:create', 'test.sleep', '-t', 'wait4', '--timeout', '1s');
    assert.equal(alone.code, 1);
    assert.equal(alone.stderr, 'error: --timeout goes with --wait\n');
    const missing = await run('op:wait', randomUUID());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: operation \S+ not found\n$/);
  });

  it('op:create --params-file reads JSON or YAML from a file or stdin; --params and -p win over it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aegir-params-'));
    try {
      const yaml = join(dir, 'params.yml');
      await writeFile(yaml, 'user: deploy\npassword: from-file\n');
      // test.echo has one param: message
      const json = join(dir, 'echo.json');
      await writeFile(json, '{"message": "from-file"}');
      const fromFile = await create('test.echo', '-t', 'pf1', '--params-file', json);
      const fromStdin = await withInput(
        '{"message": "from-stdin"}',
        'op:create',
        'test.echo',
        '-t',
        'pf2',
        '--params-file',
        '-',
        '--json',
      );
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      const stdinId = (JSON.parse(fromStdin.stdout) as { id: string }).id;
      const yamlStdin = await withInput(
        'message: yaml-stdin\n',
        'op:create',
        'test.echo',
        '-t',
        'pf3',
        '--params-file',
        '-',
        '-p',
        'message=flag-wins',
        '--json',
      );
      assert.equal(yamlStdin.code, 0, yamlStdin.stderr);
      const flagId = (JSON.parse(yamlStdin.stdout) as { id: string }).id;
      const { rows } = await sql.query(
        `SELECT id, params FROM operations WHERE id = ANY($1::uuid[])`,
        [[fromFile, stdinId, flagId]],
      );
      const params = Object.fromEntries(rows.map((row) => [row.id, row.params]));
      assert.deepEqual(params[fromFile], { message: 'from-file' });
      assert.deepEqual(params[stdinId], { message: 'from-stdin' });
      assert.deepEqual(params[flagId], { message: 'flag-wins' });
      assert.deepEqual(buildParams('{"b":2,"c":2}', ['c=3'], { a: 1, b: 1 }), { a: 1, b: 2, c: 3 });

      const before = await sql.query(`SELECT count(*)::int AS n FROM operations`);
      const missing = await run(
        'op:create',
        'test.echo',
        '-t',
        'pf4',
        '--params-file',
        join(dir, 'nope.json'),
      );
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^error: --params-file \S+nope\.json: no such file\n$/);
      const list = await withInput(
        '[1, 2]',
        'op:create',
        'test.echo',
        '-t',
        'pf5',
        '--params-file',
        '-',
      );
      assert.equal(list.code, 1);
      assert.equal(
        list.stderr,
        'error: --params-file standard input must hold a JSON or YAML object\n',
      );
      const broken = await withInput(
        '{"message": ',
        'op:create',
        'test.echo',
        '-t',
        'pf6',
        '--params-file',
        '-',
      );
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, /^error: --params-file standard input is not valid JSON/);
      const leaky = await withInput(
        '{"password": "hunter2-secret" oops}',
        'op:create',
        'test.echo',
        '-t',
        'pf6',
        '--params-file',
        '-',
      );
      assert.equal(leaky.code, 1);
      assert.match(leaky.stderr, /^error: --params-file standard input is not valid JSON/);
      assert.doesNotMatch(leaky.stderr, /hunter2/);
      const tagged = await withInput(
        'message: !!js/function "x"\n',
        'op:create',
        'test.echo',
        '-t',
        'pf7',
        '--params-file',
        '-',
      );
      assert.equal(tagged.code, 1);
      assert.match(tagged.stderr, /^error: --params-file standard input: YAML parse error/);
      const unknown = await run('op:create', 'test.echo', '-t', 'pf8', '--params-file', yaml);
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /^error: params\.\w+ is not a known parameter|params\.message is required/,
      );
      const after = await sql.query(`SELECT count(*)::int AS n FROM operations`);
      assert.deepEqual(after.rows, before.rows);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('op:list filters by who created it and when', async () => {
    const mine = await create('test.echo', '-t', 'by1', '-p', 'message=x');
    const theirs = await create('test.echo', '-t', 'by2', '-p', 'message=y');
    await sql.query(
      `UPDATE operations SET created_by = 'token:ci', created_at = '2020-01-02T00:00:00Z' WHERE id = $1`,
      [theirs],
    );
    const list = async (...args: string[]) => {
      const result = await run('op:list', '--json', '--limit', '200', ...args);
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout) as { items: { id: string }[] }).items.map((o) => o.id);
    };
    assert.deepEqual(await list('--created-by', 'token:ci'), [theirs]);
    const recent = await list('--since', '2021-01-01');
    assert.ok(recent.includes(mine) && !recent.includes(theirs));
    assert.deepEqual(await list('--until', '2021-01-01'), [theirs]);
    assert.deepEqual(await list('--since', '2020-01-01T00:00:00Z', '--until', '2020-01-03'), [
      theirs,
    ]);
    const { rows } = await sql.query(`SELECT created_by FROM operations WHERE id = $1`, [mine]);
    assert.deepEqual(await list('--created-by', rows[0].created_by, '--target', 'by1'), [mine]);
    const bad = await run('op:list', '--since', 'yesterday');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: --since must be an ISO 8601 time/);
  });

  it('AEGIR_API_URL without a token, or not a URL, is refused before anything is sent', async () => {
    const noToken = await aegir(['op:list'], { AEGIR_API_URL: 'http://127.0.0.1:1/api/v1' });
    assert.equal(noToken.code, 1);
    assert.equal(noToken.stderr, 'error: AEGIR_API_URL is set: AEGIR_API_TOKEN must be too\n');
    const notUrl = await aegir(['op:show', randomUUID()], {
      AEGIR_API_URL: 'ftp://user:secret@host/x',
      AEGIR_API_TOKEN: 'aq_x_y',
    });
    assert.equal(notUrl.code, 1);
    assert.match(notUrl.stderr, /^error: AEGIR_API_URL must be an http\(s\) URL/);
    assert.doesNotMatch(notUrl.stderr, /secret/);
    const credentials = await aegir(['op:list'], {
      AEGIR_API_URL: 'http://user:secret@127.0.0.1:1/api/v1',
      AEGIR_API_TOKEN: 'aq_never_printed',
    });
    assert.equal(credentials.code, 1);
    assert.equal(
      credentials.stderr,
      'error: AEGIR_API_URL must not hold a user or password (http://user:***@127.0.0.1:1/api/v1): the token goes in AEGIR_API_TOKEN\n',
    );
    // a port nothing listens on (fetch refuses port 1 itself: "bad port")
    const port = await freeLocalPort();
    const down = await aegir(['op:list'], {
      AEGIR_API_URL: `http://127.0.0.1:${port}/api/v1`,
      AEGIR_API_TOKEN: 'aq_never_printed',
    });
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      new RegExp(
        `^error: cannot reach the api at http://127\\.0\\.0\\.1:${port}/api/v1: connect ECONNREFUSED`,
      ),
    );
    assert.doesNotMatch(down.stderr, /aq_never_printed/);
  });
});

describe('aegir catalogue:list and catalogue:validate (local)', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'aegir-validate-'));
  });

  after(() => rm(root, { recursive: true, force: true }));

  it('catalogue:list shows the types with their params and tasks; --json as GET /catalogue', async () => {
    const result = await aegir(['catalogue:list']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^TYPE\s+POOL\s+PARALLEL\s+TASKS\s+PARAMS$/m);
    assert.match(
      result.stdout,
      /^test\.secret\s+default\s+no\s+show, after\s+user="admin", password\* \(secret\)$/m,
    );
    assert.match(result.stdout, /^test\.fail\s+default\s+no\s+first, second, third\s+-$/m);
    const json = await aegir(['catalogue:list', '--json']);
    const listing = JSON.parse(json.stdout) as {
      types: { name: string; tasks: unknown[]; params: any }[];
    };
    const secret = listing.types.find((type) => type.name === 'test.secret');
    assert.deepEqual(secret?.params.required, ['password']);
    assert.equal(secret?.params.properties.password.secret, true);
    assert.deepEqual(secret?.tasks, [
      { name: 'show', runner: 'ansible-playbook', timeoutSeconds: 60 },
      { name: 'after', runner: 'command', timeoutSeconds: 30 },
    ]);
  });

  it('catalogue:validate passes a good directory, exit 0', async () => {
    const result = await aegir(['catalogue:validate', fixtures.catalogueDir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /: valid, \d+ operation types \(playbooks in \S+\)\n$/);
    const json = await aegir(['catalogue:validate', fixtures.catalogueDir, '--json']);
    const report = JSON.parse(json.stdout) as {
      valid: boolean;
      types: string[];
      problems: string[];
    };
    assert.equal(report.valid, true);
    assert.ok(report.types.includes('demo.hello'));
    assert.deepEqual(report.problems, []);
  });

  it('catalogue:validate names every broken file and field, and a missing playbook; exit 1', async () => {
    const dir = join(root, 'catalogue');
    const playbooks = join(root, 'playbooks');
    await mkdir(dir);
    await mkdir(playbooks);
    await writeFile(join(playbooks, 'ok.yml'), '- hosts: all\n');
    await writeFile(
      join(dir, 'a.good.yml'),
      'name: a.good\ndescription: fine\ntasks:\n  - { name: run, runner: ansible-playbook, playbook: ok.yml }\n',
    );
    await writeFile(
      join(dir, 'b.nobook.yml'),
      'name: b.nobook\ndescription: its playbook is missing\ntasks:\n  - { name: run, runner: ansible-playbook, playbook: missing.yml }\n',
    );
    await writeFile(
      join(dir, 'c.schema.yml'),
      'name: c.schema\ndescription: a typo in its schema\nparams:\n  type: object\n  properties:\n    v: { type: string, maxlenght: 3 }\ntasks:\n  - { name: run, runner: command, argv: [echo] }\n',
    );
    await writeFile(join(dir, 'd.yaml.yml'), 'name: [unclosed\n');
    await writeFile(
      join(dir, 'e.twice.yml'),
      'name: a.good\ndescription: same name\ntasks:\n  - { name: run, runner: command, argv: [echo] }\n',
    );
    const result = await aegir(['catalogue:validate', dir, '--playbooks-dir', playbooks]);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 5, result.stdout);
    assert.match(
      lines[0],
      /^catalogue file b\.nobook\.yml: tasks\[0\]\.playbook "missing\.yml" does not exist in /,
    );
    assert.match(lines[1], /^catalogue file c\.schema\.yml: params.*maxlenght/);
    assert.match(lines[2], /^catalogue file d\.yaml\.yml: YAML parse error at line \d+/);
    assert.equal(
      lines[3],
      'catalogue file e.twice.yml: name "a.good" is already defined in a.good.yml',
    );
    assert.match(lines[4], /: 4 problems in 5 files$/);
    const json = await aegir(['catalogue:validate', dir, '--playbooks-dir', playbooks, '--json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as {
      valid: boolean;
      problems: string[];
      files: string[];
    };
    assert.equal(report.valid, false);
    assert.equal(report.problems.length, 4);
    assert.equal(report.files.length, 5);

    const none = await aegir(['catalogue:validate', join(root, 'nothing-here')]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /^no operation types found in \S+: the directory does not exist\n/);
  });
});

describe('console wait helpers', () => {
  it('durationFlag and timeFlag read what the help says and name the flag otherwise', () => {
    assert.equal(durationFlag('--timeout', '90s'), 90_000);
    assert.equal(durationFlag('--timeout', '30m'), 1_800_000);
    assert.equal(durationFlag('--timeout', '2h'), 7_200_000);
    assert.equal(durationFlag('--timeout', '500ms'), 500);
    assert.equal(durationFlag('--timeout', undefined), undefined);
    for (const bad of ['30', '0s', '-1s', '8d', '1.5m', 'soon']) {
      assert.throws(() => durationFlag('--timeout', bad), /--timeout must be a duration/, bad);
    }
    assert.equal(timeFlag('--since', '2026-12-04T10:00:00Z'), '2026-12-04T10:00:00Z');
    for (const bad of ['2026-13-40', '2026-12-04 10:00', 'today']) {
      assert.throws(() => timeFlag('--since', bad), /--since must be an ISO 8601 time/, bad);
    }
  });

  it('the progress line is drawn over itself on a terminal, and not at all elsewhere', () => {
    const chunks: string[] = [];
    const sink = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk.toString());
          done();
        },
      }),
      { isTTY: true, columns: 80 },
    ) as unknown as NodeJS.WriteStream;
    const view = {
      id: '3f2b8c1e-6a4d-4e0b-9c7a-1d2e3f4a5b6c',
      status: 'running',
      tasks: [{ status: 'succeeded' }, { status: 'running' }, { status: 'queued' }],
    } as unknown as OperationView;
    const text = progressText(view, 12_300, 120);
    assert.equal(text, 'operation 3f2b8c1e running · tasks 1/3 · 12.3s · 120 lines stored');
    const line = new ProgressLine(sink);
    line.draw(text);
    line.draw(progressText(view, 13_300, 121));
    line.clear();
    assert.deepEqual(chunks, [
      `\r\x1b[2K${text}`,
      '\r\x1b[2Koperation 3f2b8c1e running · tasks 1/3 · 13.3s · 121 lines stored',
      '\r\x1b[2K',
    ]);
    const plain: string[] = [];
    const pipe = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          plain.push(chunk.toString());
          done();
        },
      }),
      { isTTY: false },
    ) as unknown as NodeJS.WriteStream;
    const quiet = new ProgressLine(pipe);
    quiet.draw(text);
    quiet.clear();
    assert.deepEqual(plain, []);
    assert.ok(ID.test(view.id));
  });
});
