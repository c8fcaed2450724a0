/**
 * `aegir token:create`, `token:list`, `token:revoke` and `aegir audit`, as a user runs them,
 * against a real PostgreSQL; and the actor the console's own op:* commands record.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import {
  createConsoleTestDatabase,
  type CliResult,
  type ConsoleTestDatabase,
} from '../../../test/support/cli';
import { tokenState } from './token-format';

const me = `console:${userInfo().username}`;

describe('aegir token:* and audit', () => {
  let cli: ConsoleTestDatabase;
  let sql: Client;
  let run: (...args: string[]) => Promise<CliResult>;

  before(async () => {
    cli = await createConsoleTestDatabase('aegir_test_tokens');
    ({ sql, run } = cli);
  });

  after(() => cli?.close());

  let ciToken: string;

  it('token:create prints the token alone on stdout, once; only its hash is stored', async () => {
    const result = await run(
      'token:create',
      '--name',
      'ci',
      '--role',
      'operator',
      '--types',
      'site.*',
      '--targets',
      '{web1,web2}',
      '--expires',
      '90d',
    );
    assert.equal(result.code, 0, result.stderr);
    ciToken = result.stdout.trimEnd();
    assert.match(ciToken, /^aq_[0-9a-f-]{36}_[A-Za-z0-9_-]{43}$/);
    assert.equal(result.stdout, `${ciToken}\n`);
    assert.match(
      result.stderr,
      /^token ci created \(id [0-9a-f-]{36}, role operator, types site\.\*, targets \{web1,web2\}, expires \d{4}-\d\d-\d\dT[\d:.]+Z\); it is shown only now:\n$/,
    );
    const { rows } = await sql.query(
      `SELECT id, role, types, targets, hash,
              round(extract(epoch FROM expires_at - created_at) / 86400) AS days
         FROM api_tokens WHERE name = 'ci'`,
    );
    assert.deepEqual(
      [rows[0].role, rows[0].types, rows[0].targets, Number(rows[0].days)],
      ['operator', 'site.*', '{web1,web2}', 90],
    );
    assert.equal(ciToken.slice(3, 39), rows[0].id);
    assert.equal(rows[0].hash, createHash('sha256').update(ciToken.slice(40)).digest('hex'));
  });

  it('token:create --json prints the token with its fields; no expiry means until revoked', async () => {
    const result = await run('token:create', '--name', 'dash', '--role', 'viewer', '--json');
    assert.equal(result.code, 0, result.stderr);
    const created = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(created).sort(), [
      'createdAt',
      'expiresAt',
      'id',
      'lastUsedAt',
      'name',
      'revokedAt',
      'role',
      'targets',
      'token',
      'types',
    ]);
    assert.deepEqual(
      [created.name, created.role, created.types, created.targets, created.expiresAt],
      ['dash', 'viewer', null, null, null],
    );
  });

  const refused: [string, string[], RegExp][] = [
    ['no --name', ['--role', 'viewer'], /^error: --name is required\n$/],
    ['no --role', ['--name', 'x'], /^error: --role is required\n$/],
    [
      'an unknown role',
      ['--name', 'x', '--role', 'root'],
      /^error: --role must be one of viewer, operator, admin, got "root"\n$/,
    ],
    [
      'a name with a space',
      ['--name', 'a b', '--role', 'viewer'],
      /^error: --name must be 1 to 64 letters, digits, dots, dashes or underscores/,
    ],
    [
      'a glob with a slash',
      ['--name', 'x', '--role', 'viewer', '--types', 'a/b'],
      /^error: --types must be a glob of 1 to 200 characters/,
    ],
    [
      'an unclosed bracket',
      ['--name', 'x', '--role', 'viewer', '--targets', '[web'],
      /^error: --targets is not a valid glob: Missing closing: "\]"/,
    ],
    [
      'a duration without a unit',
      ['--name', 'x', '--role', 'viewer', '--expires', '30'],
      /^error: --expires must be a duration like 30m, 12h or 90d .*got "30"\n$/,
    ],
    [
      'a zero duration',
      ['--name', 'x', '--role', 'viewer', '--expires', '0d'],
      /^error: --expires must be a duration/,
    ],
    [
      'years',
      ['--name', 'x', '--role', 'viewer', '--expires', '2y'],
      /^error: --expires must be a duration/,
    ],
    [
      'more than ten years',
      ['--name', 'x', '--role', 'viewer', '--expires', '3651d'],
      /^error: --expires must be a duration/,
    ],
    [
      'a name in use',
      ['--name', 'ci', '--role', 'viewer'],
      /^error: a token named ci already exists\n$/,
    ],
  ];
  for (const [what, flags, message] of refused) {
    it(`token:create refuses ${what} with exit 2, creating nothing`, async () => {
      const before = await sql.query(`SELECT count(*)::int AS n FROM api_tokens`);
      const result = await run('token:create', ...flags);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
      assert.deepEqual(
        (await sql.query(`SELECT count(*)::int AS n FROM api_tokens`)).rows,
        before.rows,
      );
    });
  }

  it('token:list shows every token and its state, never a secret or a hash', async () => {
    const result = await run('token:list');
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^NAME +ID +ROLE +TYPES +TARGETS +STATE +CREATED +EXPIRES +LAST USED$/);
    assert.deepEqual(
      lines.slice(1).map((line) =>
        line
          .split(/ +/)
          .slice(0, 6)
          .filter((_, i) => i !== 1),
      ),
      [
        ['dash', 'viewer', '*', '*', 'active'],
        ['ci', 'operator', 'site.*', '{web1,web2}', 'active'],
      ],
    );
    const { rows } = await sql.query(`SELECT hash FROM api_tokens`);
    const json = await run('token:list', '--json');
    for (const text of [result.stdout, json.stdout]) {
      assert.ok(!text.includes(ciToken.slice(40)), 'no secret');
      for (const row of rows) assert.ok(!text.includes(row.hash), 'no hash');
    }
    assert.ok(!json.stdout.includes('"hash"'));
  });

  it('token:revoke by name or id revokes once, and says so', async () => {
    const first = await run('token:revoke', 'ci');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^token ci \([0-9a-f-]{36}\) revoked\n$/);
    const again = await run('token:revoke', ciToken.slice(3, 39));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^token ci \([0-9a-f-]{36}\) was already revoked at \d{4}-/);
    const listed = await run('token:list');
    assert.match(listed.stdout, /^ci +\S+ +operator +\S+ +\S+ +revoked /m);
    const unknown = await run('token:revoke', 'nobody');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'error: no token named or with id nobody\n');
    const bad = await run('token:revoke', 'not a name');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: token must be a token name or id, got "not a name"\n$/);
  });

  it("the console's op:create, op:cancel and op:retry record who did them", async () => {
    const created = await run(
      'op:create',
      'test.echo',
      '--target',
      'web1',
      '-p',
      'message=hi',
      '--json',
    );
    assert.equal(created.code, 0, created.stderr);
    const id = (JSON.parse(created.stdout) as { id: string; createdBy: string }).id;
    assert.equal((JSON.parse(created.stdout) as { createdBy: string }).createdBy, me);
    assert.equal((await run('op:cancel', id)).code, 0);
    const retried = await run('op:retry', id, '--json');
    assert.equal(retried.code, 0, retried.stderr);
    const { rows } = await sql.query(
      `SELECT created_by, cancelled_by, retried_by FROM operations WHERE id = $1`,
      [id],
    );
    assert.deepEqual(rows, [{ created_by: me, cancelled_by: me, retried_by: me }]);
    assert.equal((JSON.parse(retried.stdout) as { createdBy: string }).createdBy, me);
    const audit = await sql.query(
      `SELECT actor, action, outcome, source FROM audit_events WHERE operation_id = $1 ORDER BY id`,
      [id],
    );
    assert.deepEqual(
      audit.rows.map((row) => [row.actor, row.action, row.outcome, row.source]),
      [
        [me, 'operation.create', 'ok', 'console'],
        [me, 'operation.cancel', 'ok', 'console'],
        [me, 'operation.retry', 'ok', 'console'],
      ],
    );
  });

  it('audit shows the trail newest first, filtered by actor and action', async () => {
    const all = await run('audit');
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^ID +AT +ACTOR +ACTION +OUTCOME +OPERATION +SOURCE +DETAIL$/);
    const actions = lines.slice(1).map((line) => line.split(/ +/)[4]);
    assert.deepEqual(actions, [
      'operation.retry',
      'operation.cancel',
      'operation.create',
      'token.revoke',
      'token.create',
      'token.create',
    ]);
    assert.ok(lines.slice(1).every((line) => line.includes(me) && / console /.test(line)));
    const revokes = await run('audit', '--action', 'token.revoke', '--json');
    const page = JSON.parse(revokes.stdout) as {
      items: { actor: string; detail: { name: string } }[];
      nextCursor: string | null;
    };
    assert.deepEqual(
      page.items.map((item) => [item.actor, item.detail.name]),
      [[me, 'ci']],
    );
    assert.equal((await run('audit', '--actor', 'token:nobody')).stdout, 'no audit events\n');
    const two = await run('audit', '--limit', '2');
    assert.equal(two.stdout.trimEnd().split('\n').length, 4);
    const more = /^more: --cursor (\S+)$/m.exec(two.stdout);
    assert.ok(more, two.stdout);
    const rest = await run('audit', '--cursor', more[1], '--json');
    assert.equal((JSON.parse(rest.stdout) as { items: unknown[] }).items.length, 4);
  });

  it('the console records its refusals too: a cancel of an ended operation, a retry of a running one, an unknown id', async () => {
    const created = await run('op:create', 'test.echo', '-t', 'web1', '-p', 'message=r', '--json');
    assert.equal(created.code, 0, created.stderr);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const retryRunning = await run('op:retry', id);
    assert.equal(retryRunning.code, 1);
    await sql.query(
      `UPDATE operations SET status = 'succeeded', finished_at = now() WHERE id = $1`,
      [id],
    );
    const cancelEnded = await run('op:cancel', id);
    assert.equal(cancelEnded.code, 1);
    assert.match(cancelEnded.stderr, /already succeeded/);
    const unknown = '00000000-0000-4000-8000-00000000beef';
    assert.equal((await run('op:cancel', unknown)).code, 1);

    const { rows } = await sql.query(
      `SELECT actor, action, outcome, operation_id, source, detail FROM audit_events
        WHERE operation_id = ANY($1::uuid[]) AND outcome = 'refused' ORDER BY id`,
      [[id, unknown]],
    );
    assert.deepEqual(
      rows.map((row) => [row.actor, row.action, row.operation_id, row.source]),
      [
        [me, 'operation.retry', id, 'console'],
        [me, 'operation.cancel', id, 'console'],
        [me, 'operation.cancel', unknown, 'console'],
      ],
    );
    // the message is the one the command printed
    assert.ok(cancelEnded.stderr.includes(rows[1].detail.message), JSON.stringify(rows[1]));
    assert.ok(retryRunning.stderr.includes(rows[0].detail.message), JSON.stringify(rows[0]));
    assert.equal(rows[2].detail.message, `operation ${unknown} not found`);
  });

  it('audit refuses bad flags with exit 2, naming them', async () => {
    for (const [flags, message] of [
      [['--limit', '0'], /^error: --limit must be an integer from 1 to 1000, got "0"\n$/],
      [['--outcome', 'maybe'], /^error: --outcome must be one of ok, refused, got "maybe"\n$/],
      [['--operation', 'x'], /^error: id must be a UUID, got "x"\n$/],
      [['--cursor', 'bogus'], /^error: --cursor is not valid\n$/],
    ] as const) {
      const result = await run('audit', ...flags);
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it('says a token is expired once its time has passed', () => {
    const view = {
      id: 'x',
      name: 'x',
      role: 'viewer' as const,
      types: null,
      targets: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: '2025-01-02T00:00:00.000Z',
    };
    assert.equal(tokenState(view, Date.parse('2025-01-01T12:00:00Z')), 'active');
    assert.equal(tokenState(view, Date.parse('2025-01-02T00:00:00Z')), 'expired');
    assert.equal(tokenState({ ...view, revokedAt: view.createdAt }, 0), 'revoked');
  });
});
