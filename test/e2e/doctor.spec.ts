import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadCatalogue } from '@app/catalogue';
import { repoRoot } from '../support/processes';
import { fixtures, Stack } from '../support/stack';

/** The shipped catalogue, which holds aegir.probe (the test fixtures do not). */
const shipped = {
  catalogueDir: resolve(repoRoot, 'catalogue'),
  playbooksDir: resolve(repoRoot, 'playbooks'),
};

/** What doctor probes with, as catalogue/aegir.probe.yml and the README say. */
const PROBE_TYPE = 'aegir.probe';
const PROBE_LINE = 'aegir.probe: the queue works';

/** doctor's lines with the padding of the first two columns made one space. */
const reportLines = (stdout: string): string[] =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/^(\S+) +(\S+) +/, '$1 $2 '));

interface Report {
  ok: boolean;
  ms: number;
  checks: { check: string; outcome: string; detail: string; ms: number }[];
}

describe('aegir doctor, on the real stack', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_e2e_doctor', ...shipped });
  });

  after(async () => {
    await stack?.stop();
  });

  const probes = () =>
    stack.query<{ id: string; status: string; created_by: string; cancelled_by: string | null }>(
      `SELECT id, status, created_by, cancelled_by FROM operations WHERE type = $1 ORDER BY created_at`,
      [PROBE_TYPE],
    );

  it('the shipped aegir.probe prints the line doctor waits for, with no params', () => {
    const catalogue = loadCatalogue({
      dir: shipped.catalogueDir,
      playbooksDir: shipped.playbooksDir,
    });
    const probe = catalogue.get(PROBE_TYPE);
    assert.ok(probe);
    assert.deepEqual(
      probe.tasks.map((task) => task.runner),
      ['command'],
    );
    assert.deepEqual(catalogue.plan({ type: PROBE_TYPE, target: 'doctor', params: {} }).params, {});
  });

  it('passes on a full stack: every check ok, the probe succeeded and stays in the history', async () => {
    const result = await stack.aegir(['doctor', '--timeout', '60s']);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const lines = reportLines(result.stdout);
    assert.match(lines[0], /^ok database PostgreSQL at .*: all \d+ migrations applied \(\d/);
    assert.match(
      lines[1],
      /^ok broker RabbitMQ 127\.0\.0\.1:5672, vhost \S+, as aegir-console@\S+: 4 exchanges and \d+ queues there; consumers: aegir\.events 1, aegir\.claims 1, aegir\.dispatch\.default 1 /,
    );
    assert.match(lines[2], /^ok catalogue \d+ types in .*catalogue \(1 pool: default\) /);
    assert.match(
      lines[3],
      /^ok probe operation [0-9a-f-]{36} created \(aegir\.probe on doctor, pool default\)/,
    );
    assert.match(lines[4], /^ok probe published by the relay to aegir\.dispatch\.default /);
    assert.match(lines[5], /^ok probe claim granted to dispatcher test-dispatcher-\d+ /);
    assert.match(lines[6], /^ok probe its task is running /);
    assert.match(lines[7], /^ok probe its line is stored: "aegir\.probe: the queue works" /);
    assert.match(lines[8], /^ok probe succeeded /);
    assert.match(lines[9], /^all checks passed in /);
    assert.equal(lines.length, 10);

    const [probe] = await probes();
    assert.equal(probe.status, 'succeeded');
    assert.match(probe.created_by, /^doctor:/);
    assert.deepEqual(
      (await stack.lines(probe.id))
        .filter((line) => line.stream === 'stdout')
        .map((line) => line.line),
      [PROBE_LINE],
    );
    const audit = await stack.query(
      `SELECT actor, action FROM audit_events WHERE operation_id = $1`,
      [probe.id],
    );
    assert.deepEqual(audit, [{ actor: probe.created_by, action: 'operation.create' }]);
  });

  it('--json prints one report; a bad --timeout is refused before anything runs', async () => {
    const result = await stack.aegir(['doctor', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((check) => [check.check, check.outcome]),
      [
        ['database', 'ok'],
        ['broker', 'ok'],
        ['catalogue', 'ok'],
        ...Array.from({ length: 6 }, () => ['probe', 'ok']),
      ],
    );
    const bad = await stack.aegir(['doctor', '--timeout', '0s']);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      'error: --timeout must be a duration from 1s to 60m, like 30s, 2m or 1500ms, got "0s"\n',
    );
  });

  it('names the dispatcher when none of the pool runs, within the timeout, and cancels its probe', async () => {
    await stack.app('dispatcher').stop();
    try {
      const started = Date.now();
      const result = await stack.aegir(['doctor', '--timeout', '4s']);
      assert.ok(Date.now() - started < 15_000, 'bounded by --timeout');
      assert.equal(result.code, 1, result.stdout);
      const lines = reportLines(result.stdout);
      assert.match(lines[0], /^ok database /);
      assert.match(
        lines[1],
        /^FAIL broker nobody consumes aegir\.dispatch\.default: is a dispatcher of pool default running\? \(/,
      );
      assert.match(lines[2], /^ok catalogue /);
      assert.match(lines[4], /^ok probe published by the relay/);
      assert.match(
        lines[5],
        /^FAIL probe stuck after \d+ ms: no dispatcher of pool default claimed it: is a dispatcher of pool default running/,
      );
      assert.match(lines[6], /^2 checks failed/);
      const last = (await probes()).at(-1)!;
      assert.equal(last.status, 'cancelled');
      assert.match(last.cancelled_by ?? '', /^doctor:/);
    } finally {
      await stack.startApp('dispatcher');
    }
  });

  it('names the relay when it is not running', async () => {
    await stack.app('relay').stop();
    try {
      const result = await stack.aegir(['doctor', '--timeout', '3s']);
      assert.equal(result.code, 1, result.stdout);
      const lines = reportLines(result.stdout);
      assert.match(
        lines[1],
        /^FAIL broker nobody consumes aegir\.events: is aegir-relay running\?; nobody consumes aegir\.claims: is aegir-relay running\? \(/,
      );
      assert.match(lines[3], /^ok probe operation .* created/);
      assert.match(
        lines[4],
        /^FAIL probe stuck after \d+ ms: the relay has not published it: is aegir-relay running\? \(operation /,
      );
      const last = (await probes()).at(-1)!;
      assert.equal(last.status, 'cancelled');
    } finally {
      await stack.startApp('relay');
    }
    // and once it is back, everything passes again
    const again = await stack.aegir(['doctor', '--timeout', '60s']);
    assert.equal(again.code, 0, again.stdout);
  });

  it('says so when the probe ends otherwise: a dispatcher whose catalogue has no aegir.probe', async () => {
    await stack.app('dispatcher').stop();
    await stack.startApp('dispatcher', {
      CATALOGUE_DIR: fixtures.catalogueDir,
      PLAYBOOKS_DIR: fixtures.playbooksDir,
    });
    try {
      const result = await stack.aegir(['doctor', '--timeout', '30s']);
      assert.equal(result.code, 1, result.stdout);
      const lines = reportLines(result.stdout);
      assert.match(lines[1], /^ok broker /);
      assert.match(lines[5], /^ok probe claim granted to dispatcher /);
      assert.match(
        lines.at(-2)!,
        /^FAIL probe the probe [0-9a-f-]{36} ended failed: .*aegir\.probe/,
      );
      assert.match(lines.at(-1)!, /^1 check failed/);
    } finally {
      await stack.app('dispatcher').stop();
      await stack.startApp('dispatcher');
    }
  });

  it('does not hang on a database or broker that is not there: FAIL, the probe not run', async () => {
    const started = Date.now();
    const result = await stack.aegir(['doctor', '--timeout', '5s'], {
      DATABASE_URL: 'postgres://postgres:s3cret@127.0.0.1:1/nothing',
      AMQP_URL: 'amqp://guest:s3cret@127.0.0.1:1/',
    });
    assert.ok(Date.now() - started < 15_000);
    assert.equal(result.code, 1);
    const lines = reportLines(result.stdout);
    assert.match(
      lines[0],
      /^FAIL database cannot reach PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/nothing/,
    );
    assert.match(
      lines[1],
      /^FAIL broker cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1\/: .*ECONNREFUSED/,
    );
    assert.match(lines[2], /^ok catalogue /);
    assert.match(lines[3], /^skip probe not run: it needs the database /);
    assert.doesNotMatch(result.stdout + result.stderr, /s3cret/);
  });
});
