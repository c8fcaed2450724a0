import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ResolvedTask } from '@app/catalogue';
import { INVENTORY_FILE, prepareTask, type PrepareTaskContext } from './prepare-task';
import { Workspace } from './workspace';

const playbookTask: ResolvedTask = {
  name: 'install',
  runner: 'ansible-playbook',
  timeoutSeconds: 60,
  playbookPath: '/srv/playbooks/install.yml',
  inventory: 'localhost',
};

describe('prepareTask', () => {
  let base: string;
  const planted = ['AMQP_URL', 'AEGIR_SECRET_TOKEN', 'ANSIBLE_CONFIG'];

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'aegir-prepare-spec-'));
    // Stand-ins for what the dispatcher's environment holds: none may reach a task.
    process.env.AMQP_URL = 'amqp://dispatcher:secret@127.0.0.1/';
    process.env.AEGIR_SECRET_TOKEN = 'secret';
    process.env.ANSIBLE_CONFIG = '/tmp/evil.cfg';
  });

  after(async () => {
    for (const key of planted) delete process.env[key];
    await rm(base, { recursive: true, force: true });
  });

  async function context(overrides: Partial<PrepareTaskContext> = {}): Promise<PrepareTaskContext> {
    return {
      operationId: '0b4a2b8e-5a58-4d6c-9d0e-3c1f1a2b3c4d',
      type: 'site.install',
      target: 'web-01.example.org',
      params: { version: '1.2.3', replicas: 3, flags: { dry: true } },
      workspace: await Workspace.create(base, 'op-'),
      stateDir: '/var/lib/aegir/state',
      taskName: 'install',
      ...overrides,
    };
  }

  it('writes a localhost inventory and the vars file for a playbook', async () => {
    const ctx = await context();
    const prepared = await prepareTask(playbookTask, ctx);
    const ws = ctx.workspace.path;
    const inventoryPath = join(ws, INVENTORY_FILE);
    const varsPath = join(ws, 'vars.json');
    const extraVarsPath = join(ws, 'extra-vars.json');

    assert.deepEqual(prepared.argv, [
      'ansible-playbook',
      '-i',
      inventoryPath,
      '-e',
      `@${extraVarsPath}`,
      '/srv/playbooks/install.yml',
    ]);
    assert.equal(prepared.cwd, ws);
    assert.deepEqual(parse(await readFile(inventoryPath, 'utf8')), {
      all: {
        hosts: {
          localhost: { ansible_connection: 'local', ansible_python_interpreter: 'auto_silent' },
        },
      },
    });
    assert.deepEqual(JSON.parse(await readFile(varsPath, 'utf8')), {
      version: '1.2.3',
      replicas: 3,
      flags: { dry: true },
      aegir: {
        operation_id: ctx.operationId,
        type: 'site.install',
        target: 'web-01.example.org',
        task: 'install',
        state_dir: '/var/lib/aegir/state',
        workspace: ws,
      },
    });
    assert.equal((await stat(varsPath)).mode & 0o777, 0o600);
    assert.equal((await stat(inventoryPath)).mode & 0o777, 0o600);
    assert.equal((await stat(extraVarsPath)).mode & 0o777, 0o600);
  });

  it('gives Ansible the vars with every string marked unsafe, so none is rendered', async () => {
    const ctx = await context({
      params: {
        cmd: "{{ lookup('pipe', 'id') }}",
        n: 2,
        ok: true,
        none: null,
        list: ['a', 1],
        obj: { k: 'v' },
      },
    });
    await prepareTask(playbookTask, ctx);
    const extraVars = JSON.parse(
      await readFile(join(ctx.workspace.path, 'extra-vars.json'), 'utf8'),
    );
    const unsafe = (value: string) => ({ __ansible_unsafe: value });
    assert.deepEqual(extraVars, {
      cmd: unsafe("{{ lookup('pipe', 'id') }}"),
      n: 2,
      ok: true,
      none: null,
      list: [unsafe('a'), 1],
      obj: { k: unsafe('v') },
      aegir: {
        operation_id: unsafe(ctx.operationId),
        type: unsafe('site.install'),
        target: unsafe('web-01.example.org'),
        task: unsafe('install'),
        state_dir: unsafe('/var/lib/aegir/state'),
        workspace: unsafe(ctx.workspace.path),
      },
    });
  });

  it('uses the given python interpreter for localhost', async () => {
    const ctx = await context({ pythonInterpreter: '/usr/bin/python3' });
    await prepareTask(playbookTask, ctx);
    const inventory = parse(await readFile(join(ctx.workspace.path, INVENTORY_FILE), 'utf8'));
    assert.equal(inventory.all.hosts.localhost.ansible_python_interpreter, '/usr/bin/python3');
  });

  it('writes a target inventory naming only the target host', async () => {
    const ctx = await context();
    await prepareTask({ ...playbookTask, inventory: 'target' }, ctx);
    const text = await readFile(join(ctx.workspace.path, INVENTORY_FILE), 'utf8');
    assert.deepEqual(parse(text), { all: { hosts: { 'web-01.example.org': {} } } });
  });

  it('builds a minimal environment for a playbook, without the dispatcher variables', async () => {
    const ctx = await context();
    const { env } = await prepareTask(playbookTask, ctx);
    const ws = ctx.workspace.path;
    assert.ok(!Object.values(env).some((value) => value.includes('secret')));
    assert.deepEqual(env, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      AEGIR_OPERATION_ID: ctx.operationId,
      AEGIR_TARGET: 'web-01.example.org',
      AEGIR_TASK: 'install',
      AEGIR_TYPE: 'site.install',
      AEGIR_WORKSPACE: ws,
      AEGIR_STATE_DIR: '/var/lib/aegir/state',
      AEGIR_VARS_FILE: join(ws, 'vars.json'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
      PYTHONUNBUFFERED: '1',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      ANSIBLE_LOCAL_TEMP: join(ws, '.ansible', 'tmp'),
      ANSIBLE_REMOTE_TMP: join(ws, '.ansible', 'remote'),
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_STDOUT_CALLBACK: 'default',
    });
    for (const key of planted) assert.equal(env[key], undefined, key);
  });

  it('runs a command as given, with vars.json and the minimal environment but no inventory', async () => {
    const ctx = await context();
    const task: ResolvedTask = {
      name: 'report',
      runner: 'command',
      timeoutSeconds: 10,
      argv: ['/usr/bin/env', '--', 'x y', '$HOME'],
    };
    const prepared = await prepareTask(task, { ...ctx, taskName: 'report' });
    const ws = ctx.workspace.path;
    assert.deepEqual(prepared.argv, ['/usr/bin/env', '--', 'x y', '$HOME']);
    assert.equal(prepared.cwd, ws);
    assert.equal(prepared.env.AEGIR_VARS_FILE, join(ws, 'vars.json'));
    assert.equal(prepared.env.ANSIBLE_NOCOLOR, undefined);
    assert.equal(prepared.env.AMQP_URL, undefined);
    const vars = JSON.parse(await readFile(join(ws, 'vars.json'), 'utf8'));
    assert.equal(vars.version, '1.2.3');
    assert.equal(vars.aegir.task, 'report');
    await assert.rejects(stat(join(ws, INVENTORY_FILE)), { code: 'ENOENT' });
  });

  it('falls back to the workspace for HOME and a default PATH', async () => {
    const { HOME, PATH } = process.env;
    delete process.env.HOME;
    delete process.env.PATH;
    try {
      const ctx = await context();
      const { env } = await prepareTask(playbookTask, ctx);
      assert.equal(env.HOME, ctx.workspace.path);
      assert.equal(env.PATH, '/usr/local/bin:/usr/bin:/bin');
    } finally {
      if (HOME !== undefined) process.env.HOME = HOME;
      if (PATH !== undefined) process.env.PATH = PATH;
    }
  });

  it('replaces the files of an earlier task in the same workspace', async () => {
    const ctx = await context();
    await prepareTask(playbookTask, ctx);
    await prepareTask(
      { ...playbookTask, name: 'second', inventory: 'target' },
      {
        ...ctx,
        taskName: 'second',
      },
    );
    const vars = JSON.parse(await readFile(join(ctx.workspace.path, 'vars.json'), 'utf8'));
    assert.equal(vars.aegir.task, 'second');
    const inventory = parse(await readFile(join(ctx.workspace.path, INVENTORY_FILE), 'utf8'));
    assert.deepEqual(Object.keys(inventory.all.hosts), ['web-01.example.org']);
  });

  it('refuses params that would override Ansible connection variables or the aegir facts', async () => {
    for (const key of ['ansible_ssh_common_args', 'ANSIBLE_connection', 'aegir']) {
      const ctx = await context({ params: { [key]: 'x' } });
      await assert.rejects(prepareTask(playbookTask, ctx), new RegExp(`params\\.${key}: reserved`));
    }
  });

  it('refuses nested keys that Ansible would read as markers', async () => {
    const ctx = await context({ params: { obj: { list: [{ __ansible_vault: 'x' }] } } });
    await assert.rejects(
      prepareTask(playbookTask, ctx),
      /params\.obj\.list\[0\]\.__ansible_vault: reserved name/,
    );
  });

  it('rejects a command task without argv and a relative playbook path', async () => {
    const ctx = await context();
    await assert.rejects(
      prepareTask({ name: 'x', runner: 'command', timeoutSeconds: 1, argv: [] }, ctx),
      /argv must be a non-empty array/,
    );
    await assert.rejects(
      prepareTask({ ...playbookTask, playbookPath: 'install.yml' }, ctx),
      /playbookPath must be absolute/,
    );
  });
});
