import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadCatalogue } from '@app/catalogue';
import { prepareTask, Workspace } from '@app/runner';
import { Stack } from '../support/stack';

const run = promisify(execFile);

describe('one operation, end to end, on real PostgreSQL, RabbitMQ and ansible-playbook', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start();
  });

  after(async () => {
    await stack?.stop();
  });

  it('runs demo.hello to succeeded, with every line of the playbook in order', async () => {
    const created = await stack.request('POST', '/operations', {
      type: 'demo.hello',
      target: 'site-a.example',
      params: { greeting: 'Hi from the e2e test' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, 'queued');
    assert.equal(created.body.createdBy, 'token:stack-admin');
    assert.deepEqual(
      created.body.tasks.map((t: { name: string }) => t.name),
      ['hello'],
    );

    const done = await stack.waitForEnd(created.body.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.tasks[0].status, 'succeeded');
    assert.equal(done.tasks[0].exitCode, 0);
    assert.ok(done.startedAt && done.finishedAt, 'timings are recorded');

    const lines = await stack.lines(created.body.id);
    assert.deepEqual(
      lines.map((l) => l.seq),
      lines.map((_, i) => i + 1),
      'seq is contiguous from 1',
    );
    assert.equal(done.lineCount, lines.length, 'the dispatcher emitted exactly what was stored');

    // The same playbook run by hand prints the same lines, in the same order.
    const stdout = lines.filter((l) => l.stream === 'stdout').map((l) => l.line);
    const hello = await readFile(join(stack.stateDir, 'site-a.example', 'hello.txt'), 'utf8');
    assert.match(hello, /Hi from the e2e test/);
    const playRecap = stdout.findIndex((l) => l.startsWith('PLAY RECAP'));
    assert.ok(stdout[0].startsWith('PLAY [') || stdout[1].startsWith('PLAY ['), stdout.join('\n'));
    assert.ok(playRecap > 0, 'the recap is there');
    assert.match(stdout.slice(playRecap).join('\n'), /ok=\d+\s+changed=[1-9]/);
    assert.ok(stdout.some((l) => l.includes('Hi from the e2e test')));

    const direct = await runPlaybookByHand(
      stack,
      created.body.id,
      stack.stateDir,
      'Hi from the e2e test',
    );
    assert.deepEqual(normalise(stdout), normalise(direct));

    // And the api reads them back in order, page by page.
    const first = await stack.request('GET', `/operations/${created.body.id}/log?limit=5`);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.lines.map((l: { seq: number }) => l.seq),
      [1, 2, 3, 4, 5],
    );
    const rest = await stack.request(
      'GET',
      `/operations/${created.body.id}/log?after=${first.body.next}`,
    );
    assert.equal(rest.body.lines[0].seq, 6);
    assert.equal(first.body.lines.length + rest.body.lines.length, lines.length);
  });

  it('fails the operation at the first failing task; later tasks never run', async () => {
    const created = await stack.request('POST', '/operations', {
      type: 'test.fail',
      target: 'host-1',
    });
    assert.equal(created.status, 201);
    const done = await stack.waitForEnd(created.body.id);

    assert.equal(done.status, 'failed');
    assert.equal(done.exitCode, 3);
    assert.match(done.reason, /task "second"/);
    assert.deepEqual(
      done.tasks.map((t: { name: string; status: string; exitCode: number | null }) => [
        t.name,
        t.status,
        t.exitCode,
      ]),
      [
        ['first', 'succeeded', 0],
        ['second', 'failed', 3],
        ['third', 'cancelled', null],
      ],
    );
    const lines = await stack.lines(created.body.id);
    const output = lines.filter((l) => l.stream !== 'system').map((l) => [l.stream, l.line]);
    assert.deepEqual(output.slice(0, 2), [
      ['stdout', 'first-1'],
      ['stdout', 'first-2'],
    ]);
    assert.deepEqual(output.slice(2).sort(), [
      ['stderr', 'second-err'],
      ['stdout', 'second-out'],
    ]);
    assert.ok(!lines.some((l) => l.line.includes('third-ran')), 'the third task did not run');
  });

  it('runs five operations at once, each with its own lines only', async () => {
    const counts = [1000, 2000, 3000, 4000, 5000];
    const created = await Promise.all(
      counts.map((count) =>
        stack.request('POST', '/operations', {
          type: 'test.lines',
          target: `host-${count}`,
          params: { count },
        }),
      ),
    );
    for (const response of created) assert.equal(response.status, 201);
    const ended = await Promise.all(created.map((response) => stack.waitForEnd(response.body.id)));
    for (const [index, done] of ended.entries()) {
      assert.equal(done.status, 'succeeded');
      const stdout = (await stack.lines(done.id))
        .filter((l) => l.stream === 'stdout')
        .map((l) => l.line);
      assert.deepEqual(
        stdout,
        Array.from({ length: counts[index] }, (_, i) => `line ${i + 1}`),
      );
    }
    assert.deepEqual(
      (await readdir(stack.workDir)).filter((name) => name !== 'dispatcher.pid'),
      [],
      'every workspace was removed',
    );
  });

  it('rejects invalid requests with the field at fault, and writes nothing', async () => {
    const before = await stack.query(
      `SELECT (SELECT count(*) FROM operations) AS ops, (SELECT count(*) FROM outbox) AS outbox`,
    );
    const cases: [unknown, RegExp][] = [
      [{ type: 'no.such.type', target: 'h' }, /type/],
      [{ type: 'demo.hello', target: 'h', params: { greeting: 42 } }, /params\.greeting/],
      [{ type: 'demo.hello', target: 'h', params: { colour: 'red' } }, /params\.colour/],
      [{ type: 'demo.hello', target: '../etc' }, /target/],
      [{ type: 'demo.hello', target: 'h', command: 'rm -rf /' }, /command/],
      [{ target: 'h' }, /type/],
    ];
    for (const [body, field] of cases) {
      const response = await stack.request('POST', '/operations', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(JSON.stringify(response.body.message), field, JSON.stringify(response.body));
    }
    const malformed = await stack.request('POST', '/operations', '{"type": ');
    assert.equal(malformed.status, 400);
    const after = await stack.query(
      `SELECT (SELECT count(*) FROM operations) AS ops, (SELECT count(*) FROM outbox) AS outbox`,
    );
    assert.deepEqual(after, before);

    const unknown = await stack.request('GET', '/operations/7b0c4a4e-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404);
  });

  it('keeps credentials apart: the api holds no broker URL, the dispatcher no database URL', async () => {
    const environ = async (pid: number) =>
      (await readFile(`/proc/${pid}/environ`, 'utf8'))
        .split('\0')
        .map((entry) => entry.split('=')[0]);
    const apiEnv = await environ(stack.app('api').pid);
    const dispatcherEnv = await environ(stack.app('dispatcher').pid);
    assert.ok(apiEnv.includes('DATABASE_URL'));
    assert.ok(!apiEnv.some((name) => name.startsWith('AMQP')), apiEnv.join(','));
    assert.ok(dispatcherEnv.includes('AMQP_URL'));
    assert.ok(!dispatcherEnv.some((name) => name.startsWith('DATABASE')), dispatcherEnv.join(','));

    // What the servers see: the broker has connections only from relay and dispatcher,
    // the database has none from the dispatcher.
    const { stdout } = await run('rabbitmqctl', [
      '-q',
      'list_connections',
      '-p',
      stack.vhost.name,
      '--no-table-headers',
      'client_properties',
    ]);
    const names = [...stdout.matchAll(/connection_name","([^"]+)"/g)].map((m) => m[1]).sort();
    assert.deepEqual([...new Set(names)], ['aegir-dispatcher', 'aegir-relay']);
    // each as its own broker user (aegir broker:setup made them), none as the admin
    const users = await run('rabbitmqctl', [
      '-q',
      'list_connections',
      '-p',
      stack.vhost.name,
      '--no-table-headers',
      'user',
    ]);
    assert.deepEqual([...new Set(users.stdout.trim().split(/\s+/))].sort(), [
      `aegir-dispatcher-default@${stack.vhost.name}`,
      `aegir-relay@${stack.vhost.name}`,
    ]);
    const clients = await stack.query(
      `SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database()`,
    );
    const appNames = clients.map((c) => c.application_name as string);
    assert.ok(appNames.includes('aegir-api'), appNames.join(','));
    assert.ok(!appNames.some((n) => n.includes('dispatcher')), appNames.join(','));
  });

  it('drives the same pipeline from the aegir CLI', async () => {
    const created = await stack.aegir([
      'op:create',
      'test.echo',
      '--target',
      'cli-host',
      '--param',
      'message=from the cli',
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const operation = JSON.parse(created.stdout);
    await stack.waitForEnd(operation.id);
    const log = await stack.aegir(['op:log', operation.id]);
    assert.equal(log.code, 0, log.stderr);
    assert.match(log.stdout, /^from the cli$/m);
    const shown = await stack.aegir(['op:show', operation.id]);
    assert.match(shown.stdout, /succeeded/);
    const listed = await stack.aegir(['op:list', '--target', 'cli-host']);
    assert.match(listed.stdout, new RegExp(operation.id));
  });

  it("records the console's op:cancel of a running operation and its op:retry: who, on the operation and in the audit", async () => {
    const me = `console:${userInfo().username}`;
    const { id } = await stack.createOperation('test.sleep', 'cli-cancel-host', { seconds: 30 });
    await stack.waitForStatus(id, ['running']);
    const cancel = await stack.aegir(['op:cancel', id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /is running: cancel sent to dispatcher test-dispatcher-/);
    assert.equal((await stack.waitForEnd(id)).status, 'cancelled', 'the dispatcher stopped it');
    const retry = await stack.aegir(['op:retry', id, '--json']);
    assert.equal(retry.code, 0, retry.stderr);
    const attempt = JSON.parse(retry.stdout) as { id: string; createdBy: string };
    assert.equal(attempt.createdBy, me);

    const [row] = await stack.query(
      `SELECT cancelled_by, retried_by, (SELECT retry_of FROM operations WHERE id = $2) AS retry_of
         FROM operations WHERE id = $1`,
      [id, attempt.id],
    );
    assert.deepEqual(row, { cancelled_by: me, retried_by: me, retry_of: id });
    const shown = (await stack.request('GET', `/operations/${id}`)).body;
    assert.deepEqual(
      [shown.cancelledBy, shown.retryRequestedBy, shown.retriedBy],
      [me, me, attempt.id],
    );
    const audit = await stack.query(
      `SELECT actor, action, outcome, operation_id, source, detail FROM audit_events
        WHERE operation_id = $1 AND source = 'console' ORDER BY id`,
      [id],
    );
    assert.deepEqual(
      audit.map((entry) => [entry.actor, entry.action, entry.outcome, entry.operation_id]),
      [
        [me, 'operation.cancel', 'ok', id],
        [me, 'operation.retry', 'ok', id],
      ],
    );
    assert.equal(audit[0].detail.status, 'running', 'asked of the running operation');
    assert.deepEqual(audit[1].detail, { retryId: attempt.id, attempt: 2 });

    // the new attempt runs too: stop it, so that the apps stop idle
    await stack.waitForStatus(attempt.id, ['running']);
    const stopped = await stack.request('POST', `/operations/${attempt.id}/cancel`, {});
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal((await stack.waitForEnd(attempt.id)).status, 'cancelled');
  });

  it('stops every app cleanly on SIGTERM, with exit code 0', async () => {
    const codes = await Promise.all(
      (['api', 'relay', 'dispatcher'] as const).map((app) => stack.app(app).stop()),
    );
    assert.deepEqual(codes, [0, 0, 0]);
  });
});

/** The playbook run by hand with the same inputs, for comparison. */
async function runPlaybookByHand(
  stack: Stack,
  operationId: string,
  dispatcherStateDir: string,
  greeting: string,
): Promise<string[]> {
  const env = stack.envOf('dispatcher');
  const catalogue = loadCatalogue({ dir: env.CATALOGUE_DIR!, playbooksDir: env.PLAYBOOKS_DIR! });
  const context = {
    operationId,
    type: 'demo.hello',
    target: 'site-a.example',
    params: { greeting },
  };
  const task = catalogue.resolveTask(context, 'hello');
  const stateDir = await mkdtemp(join(tmpdir(), 'aegir-by-hand-'));
  const workspace = await Workspace.create(join(stateDir, 'work'), 'by-hand-');
  try {
    const prepared = await prepareTask(task, {
      ...context,
      workspace,
      stateDir,
      taskName: 'hello',
    });
    const { stdout } = await run(prepared.argv[0], prepared.argv.slice(1), {
      cwd: prepared.cwd,
      env: prepared.env,
    });
    return stdout.replaceAll(stateDir, dispatcherStateDir).split('\n').slice(0, -1);
  } finally {
    await workspace.remove();
    await rm(stateDir, { recursive: true, force: true });
  }
}

function normalise(lines: string[]): string[] {
  return lines.map((line) => line.replace(/\/tmp\/[^\s"']+/g, '<tmp>'));
}
