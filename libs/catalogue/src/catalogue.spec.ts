import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { readSettings } from '@app/platform';
import { Catalogue } from './catalogue';
import { CatalogueModule } from './catalogue.module';
import { CatalogueSettings } from './catalogue.settings';
import { PlanError } from './catalogue-errors';
import { loadCatalogue } from './load';

const shipped = loadCatalogue({ dir: 'catalogue', playbooksDir: 'playbooks' });
const fixtures = loadCatalogue({
  dir: 'test/fixtures/catalogue',
  playbooksDir: 'test/fixtures/playbooks',
});

function planError(catalogue: Catalogue, request: Parameters<Catalogue['plan']>[0]): PlanError {
  try {
    catalogue.plan(request);
  } catch (error) {
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${String(error)}`);
    return error;
  }
  assert.fail('plan() accepted an invalid request');
}

const fieldAndMessage = (error: PlanError) => ({ field: error.field, message: error.message });

void describe('Catalogue.plan', () => {
  void it('expands a request into its tasks, with defaults filled', () => {
    assert.deepEqual(shipped.plan({ type: 'demo.hello', target: 'example.org', params: {} }), {
      type: 'demo.hello',
      pool: 'default',
      target: 'example.org',
      params: { greeting: 'Hello' },
      tasks: [{ name: 'hello', runner: 'ansible-playbook' }],
      exclusive: true,
      retry: { attempts: 0, backoffSeconds: 0 },
    });
    assert.deepEqual(
      shipped.plan({ type: 'site.release', target: 'shop-1', params: { version: '2.4.1' } }).tasks,
      [
        { name: 'prepare', runner: 'command' },
        { name: 'deploy', runner: 'ansible-playbook' },
        { name: 'verify', runner: 'ansible-playbook' },
      ],
    );
  });

  void it("carries the type's parallel (as exclusive) and retry policy into the plan", () => {
    const lines = fixtures.plan({ type: 'test.lines', target: 'web1', params: {} });
    assert.deepEqual(
      { exclusive: lines.exclusive, retry: lines.retry },
      { exclusive: true, retry: { attempts: 1, backoffSeconds: 0 } },
    );
    const parallel = fixtures.plan({ type: 'test.parallel', target: 'web1', params: {} });
    assert.deepEqual(
      { exclusive: parallel.exclusive, retry: parallel.retry },
      { exclusive: false, retry: { attempts: 0, backoffSeconds: 0 } },
    );
    // The plan's policy is a copy: changing it can't change the (frozen) catalogue.
    lines.retry.attempts = 9;
    assert.equal(fixtures.get('test.lines')!.retry.attempts, 1);
  });

  void it('treats missing params as {}', () => {
    const plan = fixtures.plan({ type: 'test.lines', target: 'localhost', params: undefined });
    assert.deepEqual(plan.params, { count: 100 });
  });

  void it("never changes the caller's params object", () => {
    const params = {};
    assert.deepEqual(shipped.plan({ type: 'demo.hello', target: 'a', params }).params, {
      greeting: 'Hello',
    });
    assert.deepEqual(params, {});
  });

  void it('refuses an unknown param, naming it', () => {
    assert.deepEqual(
      fieldAndMessage(
        planError(shipped, { type: 'demo.hello', target: 'a', params: { greeting: 'x', foo: 1 } }),
      ),
      { field: 'params.foo', message: 'params.foo is not a known parameter' },
    );
  });

  void it('refuses a param of the wrong type, without coercing it', () => {
    assert.deepEqual(
      fieldAndMessage(
        planError(shipped, { type: 'demo.hello', target: 'a', params: { greeting: 5 } }),
      ),
      { field: 'params.greeting', message: 'params.greeting must be string' },
    );
    assert.deepEqual(
      fieldAndMessage(
        planError(fixtures, { type: 'test.lines', target: 'a', params: { count: '5' } }),
      ),
      { field: 'params.count', message: 'params.count must be integer' },
    );
  });

  void it('refuses a param out of its limits, and a missing required one', () => {
    assert.deepEqual(
      fieldAndMessage(
        planError(shipped, { type: 'site.release', target: 'a', params: { version: '1.0/../x' } }),
      ),
      {
        field: 'params.version',
        message: 'params.version must match pattern "^[A-Za-z0-9._-]{1,64}$"',
      },
    );
    assert.deepEqual(
      fieldAndMessage(planError(shipped, { type: 'site.release', target: 'a', params: {} })),
      { field: 'params.version', message: 'params.version is required' },
    );
    assert.deepEqual(
      fieldAndMessage(
        planError(shipped, {
          type: 'demo.hello',
          target: 'a',
          params: { greeting: 'x'.repeat(201) },
        }),
      ),
      {
        field: 'params.greeting',
        message: 'params.greeting must NOT have more than 200 characters',
      },
    );
    assert.equal(
      planError(shipped, { type: 'demo.hello', target: 'a', params: { greeting: '{{ 7*6 }}' } })
        .field,
      'params.greeting',
    );
  });

  void it('refuses params that are not an object', () => {
    for (const params of [null, [], 'greeting', 5]) {
      assert.deepEqual(
        fieldAndMessage(planError(shipped, { type: 'demo.hello', target: 'a', params })),
        { field: 'params', message: 'params must be object' },
      );
    }
  });

  void it("refuses keys that Ansible's JSON loader would read as markers", () => {
    const root = mkdtempSync(join(tmpdir(), 'aegir-plan-'));
    try {
      writeFileSync(
        join(root, 'x.yml'),
        'name: x.obj\ndescription: d\nparams: {type: object, properties: {site: {type: object}}}\ntasks: [{name: t, runner: command, argv: [echo]}]\n',
      );
      const catalogue = loadCatalogue({ dir: root, playbooksDir: root });
      const params = { site: { list: [{ __ansible_vault: 'x' }] } };
      assert.deepEqual(
        fieldAndMessage(planError(catalogue, { type: 'x.obj', target: 'a', params })),
        {
          field: 'params.site.list[0].__ansible_vault',
          message: 'params.site.list[0].__ansible_vault is a reserved name',
        },
      );
      assert.deepEqual(
        catalogue.plan({ type: 'x.obj', target: 'a', params: { site: { a: [1] } } }).params,
        { site: { a: [1] } },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  void it('refuses a type that is not in the catalogue', () => {
    assert.deepEqual(fieldAndMessage(planError(shipped, { type: 'x', target: 'a', params: {} })), {
      field: 'type',
      message: 'type "x" is not in the catalogue',
    });
    assert.deepEqual(fieldAndMessage(planError(shipped, { type: 7, target: 'a', params: {} })), {
      field: 'type',
      message: 'type must be string',
    });
  });

  void it('refuses a target that is not a plain host or site name', () => {
    for (const target of ['../x', 'a b', '', '.hidden', '-rf', 'a/b', 'x'.repeat(254)]) {
      const error = planError(shipped, { type: 'demo.hello', target, params: {} });
      assert.equal(error.field, 'target', `target ${JSON.stringify(target)}`);
      assert.match(error.message, /^target must match \^\[A-Za-z0-9\]/);
    }
    assert.deepEqual(
      fieldAndMessage(planError(shipped, { type: 'demo.hello', target: null, params: {} })),
      { field: 'target', message: 'target must be string' },
    );
    assert.equal(
      shipped.plan({ type: 'demo.hello', target: 'x'.repeat(253), params: {} }).target.length,
      253,
    );
  });
});

void describe('Catalogue.resolveTask', () => {
  const operationId = randomUUID();

  void it('fills every placeholder with a whole argv element', () => {
    const task = shipped.resolveTask(
      { operationId, type: 'site.release', target: 'shop-1', params: { version: '2.4.1' } },
      'prepare',
    );
    assert.deepEqual(task, {
      name: 'prepare',
      runner: 'command',
      timeoutSeconds: 60,
      argv: ['printf', 'preparing release %s of %s\n', '2.4.1', 'shop-1'],
    });
    // And the command really runs as an argument array.
    assert.equal(
      execFileSync(task.argv[0], task.argv.slice(1), { encoding: 'utf8' }),
      'preparing release 2.4.1 of shop-1\n',
    );
  });

  void it('passes a value with spaces and shell syntax as one argument, untouched', () => {
    const message = "it's $(id) ; `id` | cat > /tmp/x";
    const task = fixtures.resolveTask(
      { operationId, type: 'test.echo', target: 'localhost', params: { message } },
      'echo',
    );
    assert.ok(task.runner === 'command');
    assert.deepEqual(task.argv, ['echo', message]);
    assert.equal(
      execFileSync(task.argv[0], task.argv.slice(1), { encoding: 'utf8' }),
      `${message}\n`,
    );
  });

  void it('fills defaults and converts numbers with String()', () => {
    const lines = fixtures.resolveTask(
      { operationId, type: 'test.lines', target: 'localhost', params: {} },
      'lines',
    );
    assert.ok(lines.runner === 'command');
    assert.deepEqual(lines.argv, ['seq', '-f', 'line %.0f', '1', '100']);
    const output = execFileSync(lines.argv[0], lines.argv.slice(1), { encoding: 'utf8' });
    const printed = output.split('\n').filter(Boolean);
    assert.equal(printed.length, 100);
    assert.equal(printed[0], 'line 1');
    assert.equal(printed[99], 'line 100');
    const sleep = fixtures.resolveTask(
      { operationId, type: 'test.sleep', target: 'localhost', params: { seconds: 0 } },
      'sleep',
    );
    assert.deepEqual(sleep, {
      name: 'sleep',
      runner: 'command',
      timeoutSeconds: 60,
      argv: ['sleep', '0'],
    });
  });

  void it('fills operation_id, type, target and boolean params, with or without spaces in braces', () => {
    const root = mkdtempSync(join(tmpdir(), 'aegir-resolve-'));
    try {
      mkdirSync(join(root, 'catalogue'));
      writeFileSync(
        join(root, 'catalogue', 'x.yml'),
        [
          'name: x.all',
          'description: every placeholder',
          'params:',
          '  type: object',
          '  properties: { dry_run: { type: boolean, default: false } }',
          'tasks:',
          '  - name: run',
          '    runner: command',
          '    argv: [echo, "{{operation_id}}", "{{ type }}", "{{  target  }}", "{{ params.dry_run }}", "{ literal }"]',
        ].join('\n'),
      );
      const catalogue = loadCatalogue({ dir: join(root, 'catalogue'), playbooksDir: root });
      const task = catalogue.resolveTask(
        { operationId, type: 'x.all', target: 'web-1', params: { dry_run: true } },
        'run',
      );
      assert.ok(task.runner === 'command');
      assert.deepEqual(task.argv, ['echo', operationId, 'x.all', 'web-1', 'true', '{ literal }']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  void it('returns an absolute playbook path inside the playbooks directory', () => {
    const task = shipped.resolveTask(
      { operationId, type: 'demo.hello', target: 'localhost', params: {} },
      'hello',
    );
    assert.deepEqual(task, {
      name: 'hello',
      runner: 'ansible-playbook',
      timeoutSeconds: 300,
      playbookPath: resolve('playbooks', 'demo', 'hello.yml'),
      inventory: 'localhost',
    });
    assert.ok(task.runner === 'ansible-playbook');
    assert.ok(task.playbookPath.startsWith(resolve('playbooks') + sep));
  });

  void it('checks the params again, as the dispatcher trusts nothing it is sent', () => {
    assert.throws(
      () =>
        shipped.resolveTask(
          { operationId, type: 'site.release', target: 'a', params: { version: '$(reboot)' } },
          'prepare',
        ),
      { name: 'PlanError', field: 'params.version' },
    );
    assert.throws(
      () =>
        shipped.resolveTask(
          { operationId, type: 'site.release', target: 'a', params: { version: '1', extra: true } },
          'deploy',
        ),
      { name: 'PlanError', field: 'params.extra' },
    );
    assert.throws(
      () =>
        shipped.resolveTask(
          { operationId, type: 'demo.hello', target: '../etc', params: {} },
          'hello',
        ),
      { name: 'PlanError', field: 'target' },
    );
  });

  void it('refuses an unknown type or task', () => {
    assert.throws(
      () => shipped.resolveTask({ operationId, type: 'nope', target: 'a', params: {} }, 'hello'),
      { name: 'PlanError', field: 'type', message: 'type "nope" is not in the catalogue' },
    );
    assert.throws(
      () => shipped.resolveTask({ operationId, type: 'demo.hello', target: 'a', params: {} }, 'rm'),
      {
        name: 'PlanError',
        field: 'task',
        message: 'task "rm" is not defined for type "demo.hello"',
      },
    );
  });
});

void describe('CatalogueModule', () => {
  void it('reads CATALOGUE_DIR and PLAYBOOKS_DIR, defaulting to ./catalogue and ./playbooks', () => {
    assert.deepEqual(readSettings(CatalogueSettings, {}), {
      dir: resolve('catalogue'),
      playbooksDir: resolve('playbooks'),
    });
    assert.deepEqual(
      readSettings(CatalogueSettings, {
        CATALOGUE_DIR: 'test/fixtures/catalogue',
        PLAYBOOKS_DIR: '/srv/pb',
      }),
      { dir: resolve('test/fixtures/catalogue'), playbooksDir: '/srv/pb' },
    );
  });

  void it('provides the Catalogue loaded from the app’s CatalogueSettings', async () => {
    const settings = readSettings(CatalogueSettings, {
      CATALOGUE_DIR: 'test/fixtures/catalogue',
      PLAYBOOKS_DIR: 'test/fixtures/playbooks',
    });
    @Global()
    @Module({
      providers: [{ provide: CatalogueSettings, useValue: settings }],
      exports: [CatalogueSettings],
    })
    class AppSettings {}
    const moduleRef = await Test.createTestingModule({
      imports: [AppSettings, CatalogueModule.forRoot()],
    }).compile();
    const catalogue = moduleRef.get(Catalogue);
    assert.ok(catalogue instanceof Catalogue);
    assert.ok(catalogue.get('test.fail'));
    await moduleRef.close();
  });

  void it('fails to start with a broken catalogue', async () => {
    await assert.rejects(
      Test.createTestingModule({
        imports: [CatalogueModule.forRoot({ dir: 'no-such-dir', playbooksDir: 'playbooks' })],
      }).compile(),
      { name: 'CatalogueError' },
    );
  });
});
