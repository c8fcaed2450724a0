import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CliResult } from '../support/cli';
import { Stack } from '../support/stack';

const ID = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/;

/**
 * The `aegir` binary in remote mode (AEGIR_API_URL + AEGIR_API_TOKEN) against the real stack.
 * Its DATABASE_URL points nowhere and its CATALOGUE_DIR at nothing: whatever works here went
 * through the api alone.
 */
describe('aegir against a remote api', () => {
  let stack: Stack;
  let operator: string;
  let viewer: string;
  const outputs: CliResult[] = [];

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_e2e_cli' });
    operator = await stack.createToken('cli-operator', 'operator');
    viewer = await stack.createToken('cli-viewer', 'viewer');
  });

  after(async () => {
    await stack?.stop();
  });

  const remote = async (token: string, args: string[], input?: string): Promise<CliResult> => {
    const result = await stack.aegir(
      args,
      {
        AEGIR_API_URL: stack.apiUrl,
        AEGIR_API_TOKEN: token,
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        CATALOGUE_DIR: '/nonexistent/catalogue',
      },
      input,
    );
    outputs.push(result);
    return result;
  };
  const asOperator = (...args: string[]) => remote(operator, args);
  const asViewer = (...args: string[]) => remote(viewer, args);
  const idOf = (stdout: string): string => {
    const match = ID.exec(stdout);
    assert.ok(match, stdout);
    return match[1];
  };

  it('op:create --wait exits 0 for a succeeded operation, 2 for a failed one; the api audits it', async () => {
    const ok = await asOperator('op:create', 'test.lines', '-t', 'cli1', '-p', 'count=3', '--wait');
    assert.equal(ok.code, 0, ok.stderr);
    const id = idOf(ok.stdout);
    assert.match(
      ok.stdout,
      new RegExp(
        `^operation ${id} queued: test\\.lines on cli1 \\(1 task\\)\\noperation ${id} succeeded \\(exit 0\\) after \\S+\\n$`,
      ),
    );
    // not a terminal: no progress line
    assert.equal(ok.stderr, '');
    const [row] = await stack.query(`SELECT status, created_by FROM operations WHERE id = $1`, [
      id,
    ]);
    assert.deepEqual(row, { status: 'succeeded', created_by: 'token:cli-operator' });
    const audit = await stack.query(
      `SELECT actor, action, outcome FROM audit_events WHERE operation_id = $1`,
      [id],
    );
    assert.deepEqual(audit, [
      { actor: 'token:cli-operator', action: 'operation.create', outcome: 'ok' },
    ]);

    const failed = await asOperator('op:create', 'test.fail', '-t', 'cli1', '--wait', '--json');
    assert.equal(failed.code, 2, failed.stderr);
    const view = JSON.parse(failed.stdout) as { status: string; tasks: { status: string }[] };
    assert.equal(view.status, 'failed');
    assert.deepEqual(
      view.tasks.map((task) => task.status),
      ['succeeded', 'failed', 'cancelled'],
    );
  });

  it(`op:wait --timeout gives up with exit 6; a viewer may not cancel (403), an operator may; op:wait then exits 4`, async () => {
    const created = await asOperator(
      'op:create',
      'test.sleep',
      '-t',
      'cli2',
      '-p',
      'seconds=30',
      '--json',
    );
    assert.equal(created.code, 0, created.stderr);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    await stack.waitForStatus(id, ['running']);

    const waited = await asViewer('op:wait', id, '--timeout', '2s');
    assert.equal(waited.code, 6, waited.stderr);
    assert.equal(
      waited.stderr,
      `error: operation ${id} is still running after 2s (--timeout); it goes on\n`,
    );

    const refused = await asViewer('op:cancel', id);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      'error: not allowed (403 forbidden): token cli-viewer has role viewer; operation.cancel needs operator\n',
    );
    const [still] = await stack.query(
      `SELECT status, cancel_requested_at FROM operations WHERE id = $1`,
      [id],
    );
    assert.deepEqual(still, { status: 'running', cancel_requested_at: null });

    const cancelled = await asOperator('op:cancel', id, '--reason', 'from the cli');
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(
      cancelled.stdout,
      new RegExp(`^operation ${id} is running: cancel sent to dispatcher `),
    );
    const ended = await asViewer('op:wait', id, '--timeout', '60s');
    assert.equal(ended.code, 4, ended.stderr);
    assert.match(ended.stdout, new RegExp(`^operation ${id} cancelled`));

    const again = await asOperator('op:cancel', id);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `error: operation ${id} is already cancelled (409)\n`);

    const retryRefused = await asViewer('op:retry', id);
    assert.equal(retryRefused.code, 1);
    assert.match(
      retryRefused.stderr,
      /^error: not allowed \(403 forbidden\): .*operation\.retry needs operator\n$/,
    );
    const retried = await asOperator('op:retry', id, '--json');
    assert.equal(retried.code, 0, retried.stderr);
    const attempt = JSON.parse(retried.stdout) as { id: string; attempt: number; retryOf: string };
    assert.deepEqual([attempt.attempt, attempt.retryOf], [2, id]);
    const cancelRetry = await asOperator('op:cancel', attempt.id);
    assert.equal(cancelRetry.code, 0, cancelRetry.stderr);
    const audit = await stack.query(
      `SELECT actor, action FROM audit_events WHERE operation_id = $1 AND outcome = 'ok' ORDER BY at`,
      [id],
    );
    assert.deepEqual(
      audit.map((row) => `${row.actor} ${row.action}`),
      [
        'token:cli-operator operation.create',
        'token:cli-operator operation.cancel',
        'token:cli-operator operation.retry',
      ],
    );
  });

  it('a bad request is the api’s 400, naming the field; nothing is written', async () => {
    const [before] = await stack.query(`SELECT count(*)::int AS n FROM operations`);
    const badParam = await asOperator('op:create', 'test.echo', '-t', 'cli3', '-p', 'message=5');
    assert.equal(badParam.code, 1);
    assert.equal(badParam.stderr, 'error: params.message must be string (400)\n');
    const unknown = await asOperator('op:create', 'no.such', '-t', 'cli3');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: type "no\.such" is not in the catalogue.*\(400\)\n$/);
    const target = await asOperator(
      'op:create',
      'test.echo',
      '-t',
      '-bad target',
      '-p',
      'message=x',
    );
    assert.equal(target.code, 1);
    assert.match(target.stderr, /^error: target .*\(400\)\n$/);
    const [after] = await stack.query(`SELECT count(*)::int AS n FROM operations`);
    assert.deepEqual(after, before);
    const badToken = await remote('aq_00000000-0000-4000-8000-000000000000_nope', ['op:list']);
    assert.equal(badToken.code, 1);
    assert.match(
      badToken.stderr,
      /^error: the api refused the token \(401 unauthorized\): .*; check AEGIR_API_TOKEN\n$/,
    );
  });

  it('op:create --params-file - reads the params from stdin; op:show and op:log read them back', async () => {
    const created = await remote(
      operator,
      ['op:create', 'test.echo', '-t', 'cli4', '--params-file', '-', '--wait'],
      '{"message": "from-stdin"}',
    );
    assert.equal(created.code, 0, created.stderr);
    const id = idOf(created.stdout);
    const [row] = await stack.query(`SELECT params FROM operations WHERE id = $1`, [id]);
    assert.deepEqual(row.params, { message: 'from-stdin' });
    const shown = await asViewer('op:show', id);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^params\s+\{"message":"from-stdin"\}$/m);
    assert.match(shown.stdout, /^status\s+succeeded \(exit 0\)$/m);
    const log = await asViewer('op:log', id);
    assert.equal(log.code, 0, log.stderr);
    const lines = (await stack.lines(id))
      .filter((l) => l.stream !== 'stderr')
      .map((l) => `${l.line}\n`);
    assert.equal(log.stdout, lines.join(''));
    assert.match(log.stdout, /from-stdin/);
    const missing = await asViewer('op:show', '00000000-0000-4000-8000-000000000000');
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      'error: operation 00000000-0000-4000-8000-000000000000 not found\n',
    );
  });

  it('op:list filters over the api as GET /operations does', async () => {
    const list = async (...args: string[]) => {
      const result = await asViewer('op:list', '--json', ...args);
      assert.equal(result.code, 0, result.stderr);
      return (
        JSON.parse(result.stdout) as {
          items: { type: string; target: string; status: string; createdBy: string }[];
        }
      ).items;
    };
    const echoes = await list('--type', 'test.echo');
    assert.ok(echoes.length >= 1);
    assert.ok(echoes.every((o) => o.type === 'test.echo'));
    const failed = await list('--status', 'failed');
    assert.ok(failed.length >= 1 && failed.every((o) => o.status === 'failed'));
    assert.ok((await list('--target', 'cli2')).every((o) => o.target === 'cli2'));
    const byOperator = await list('--created-by', 'token:cli-operator');
    assert.ok(
      byOperator.length >= 5 && byOperator.every((o) => o.createdBy === 'token:cli-operator'),
    );
    assert.deepEqual(await list('--created-by', 'token:nobody'), []);
    assert.deepEqual(await list('--since', '2999-01-01'), []);
    assert.equal((await list('--until', '2000-01-01')).length, 0);
    const one = await asViewer('op:list', '--limit', '1');
    assert.match(
      one.stdout,
      /^ID\s+TYPE\s+TARGET\s+STATUS\s+CREATED\s+DURATION\n\S+.*\nmore: --cursor \S+\n$/,
    );
    const cursor = /--cursor (\S+)/.exec(one.stdout)![1];
    const next = await asViewer('op:list', '--limit', '1', '--cursor', cursor);
    assert.equal(next.code, 0, next.stderr);
    assert.notEqual(next.stdout.split('\n')[1], one.stdout.split('\n')[1]);
    // the api checks the new filters itself too, naming the field
    const since = await stack.request('GET', '/operations?since=yesterday', undefined, {
      token: viewer,
    });
    assert.equal(since.status, 400);
    assert.deepEqual(since.body.message, ['since must be a valid ISO 8601 date string']);
    const createdBy = await stack.request('GET', `/operations?createdBy=${'a'.repeat(256)}`);
    assert.equal(createdBy.status, 400);
    assert.match(
      JSON.stringify(createdBy.body.message),
      /createdBy must be shorter than or equal to 255 characters/,
    );
    const badCursor = await asViewer('op:list', '--cursor', 'nonsense');
    assert.equal(badCursor.code, 1);
    assert.match(badCursor.stderr, /^error: .*cursor.*\(400\)\n$/);
  });

  it('catalogue:list gives the same JSON from the local catalogue and from the api', async () => {
    const local = await stack.aegir(['catalogue:list', '--json']);
    assert.equal(local.code, 0, local.stderr);
    const viaApi = await asViewer('catalogue:list', '--json');
    assert.equal(viaApi.code, 0, viaApi.stderr);
    assert.deepEqual(JSON.parse(viaApi.stdout), JSON.parse(local.stdout));
    const types = (JSON.parse(local.stdout) as { types: { name: string }[] }).types;
    assert.ok(types.some((type) => type.name === 'test.secret'));
    const table = await asViewer('catalogue:list');
    assert.match(table.stdout, /^test\.echo\s+default\s+no\s+echo\s+message\*/m);
  });

  it('op:create --follow over the api as an operator', async () => {
    const followed = await asOperator(
      'op:create',
      'test.lines',
      '-t',
      'cli5',
      '-p',
      'count=2',
      '--follow',
    );
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /line 1\nline 2\n[^]*-- succeeded\n$/);
  });

  it('never prints a token', () => {
    for (const result of outputs) {
      for (const token of [operator, viewer, stack.token]) {
        assert.ok(!result.stdout.includes(token) && !result.stderr.includes(token));
      }
    }
  });
});
