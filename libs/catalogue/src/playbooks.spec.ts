import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Catalogue } from './catalogue';
import { loadCatalogue } from './load';

// Runs the shipped playbooks and fixture commands for real, the way the dispatcher will:
// an argument array, params flattened into extra vars next to the `aegir` dict.
const shipped = loadCatalogue({ dir: 'catalogue', playbooksDir: 'playbooks' });
const fixtures = loadCatalogue({
  dir: 'test/fixtures/catalogue',
  playbooksDir: 'test/fixtures/playbooks',
});
const root = mkdtempSync(join(tmpdir(), 'aegir-playbooks-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ansibleEnv = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0' };

function runPlaybook(
  catalogue: Catalogue,
  request: { type: string; target: string; params: Record<string, unknown> },
  taskName: string,
  stateDir: string,
) {
  const plan = catalogue.plan(request);
  const operationId = randomUUID();
  const task = catalogue.resolveTask({ operationId, ...plan }, taskName);
  assert.ok(task.runner === 'ansible-playbook');
  const varsFile = join(root, `${operationId}.json`);
  const aegir = {
    operation_id: operationId,
    type: plan.type,
    target: plan.target,
    task: taskName,
    state_dir: stateDir,
    workspace: root,
  };
  // As the dispatcher writes them: every string marked unsafe, so Ansible never templates it.
  writeFileSync(varsFile, JSON.stringify(markUnsafe({ ...plan.params, aegir })));
  return spawnSync(
    'ansible-playbook',
    ['-i', 'localhost,', task.playbookPath, '-e', `@${varsFile}`],
    { encoding: 'utf8', env: ansibleEnv, timeout: 120_000 },
  );
}

function markUnsafe(value: unknown): unknown {
  if (typeof value === 'string') return { __ansible_unsafe: value };
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, markUnsafe(child)]));
}

void describe('the shipped playbooks, run with ansible-playbook', () => {
  void it('demo.hello prints the greeting, writes hello.txt, and is idempotent', () => {
    const stateDir = mkdtempSync(join(root, 'state-'));
    const request = { type: 'demo.hello', target: 'example.org', params: { greeting: 'Good day' } };
    const first = runPlaybook(shipped, request, 'hello', stateDir);
    assert.equal(first.status, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /"msg": "Good day, example\.org!"/);
    assert.match(first.stdout, /"msg": "hello.txt says: Good day"/);
    assert.match(first.stdout, /ok=6\s+changed=2\s+unreachable=0\s+failed=0/);
    assert.equal(readFileSync(join(stateDir, 'example.org', 'hello.txt'), 'utf8'), 'Good day\n');

    const again = runPlaybook(shipped, request, 'hello', stateDir);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /ok=6\s+changed=0\s+unreachable=0\s+failed=0/);
  });

  void it('demo.hello greets with the default when no greeting is given', () => {
    const stateDir = mkdtempSync(join(root, 'state-'));
    const result = runPlaybook(
      shipped,
      { type: 'demo.hello', target: 'localhost', params: {} },
      'hello',
      stateDir,
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(readFileSync(join(stateDir, 'localhost', 'hello.txt'), 'utf8'), 'Hello\n');
  });

  void it('site.release prepares, deploys and verifies; verify fails on another version', () => {
    const stateDir = mkdtempSync(join(root, 'state-'));
    const request = { type: 'site.release', target: 'shop-1', params: { version: '2.4.1' } };
    const plan = shipped.plan(request);
    const prepare = shipped.resolveTask({ operationId: randomUUID(), ...plan }, 'prepare');
    assert.ok(prepare.runner === 'command');
    assert.equal(
      execFileSync(prepare.argv[0], prepare.argv.slice(1), { encoding: 'utf8' }),
      'preparing release 2.4.1 of shop-1\n',
    );

    const deploy = runPlaybook(shipped, request, 'deploy', stateDir);
    assert.equal(deploy.status, 0, deploy.stdout + deploy.stderr);
    assert.equal(readFileSync(join(stateDir, 'shop-1', 'release'), 'utf8'), '2.4.1\n');

    const verify = runPlaybook(shipped, request, 'verify', stateDir);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /shop-1 runs release 2\.4\.1/);

    const wrong = runPlaybook(
      shipped,
      { ...request, params: { version: '9.9.9' } },
      'verify',
      stateDir,
    );
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stdout, /shop-1 runs release 2\.4\.1, not 9\.9\.9/);
  });

  void it('the fixture copy of demo.hello runs too', () => {
    const stateDir = mkdtempSync(join(root, 'state-'));
    const result = runPlaybook(
      fixtures,
      { type: 'demo.hello', target: 'fixture', params: { greeting: 'Hej' } },
      'hello',
      stateDir,
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(readFileSync(join(stateDir, 'fixture', 'hello.txt'), 'utf8'), 'Hej\n');
  });
});

void describe('the test.fail fixture', () => {
  const operationId = randomUUID();
  const run = (taskName: string) => {
    const task = fixtures.resolveTask(
      { operationId, type: 'test.fail', target: 'localhost', params: {} },
      taskName,
    );
    assert.ok(task.runner === 'command');
    return spawnSync(task.argv[0], task.argv.slice(1), { encoding: 'utf8' });
  };

  void it('first prints two lines and succeeds, second writes both streams and exits 3', () => {
    const first = run('first');
    assert.deepEqual([first.status, first.stdout, first.stderr], [0, 'first-1\nfirst-2\n', '']);
    const second = run('second');
    assert.deepEqual(
      [second.status, second.stdout, second.stderr],
      [3, 'second-out\n', 'second-err\n'],
    );
    const third = run('third');
    assert.deepEqual([third.status, third.stdout], [0, 'third-ran\n']);
  });
});
