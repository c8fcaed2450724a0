import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandResult, MachineHost } from './machine-host';
import { realHost } from './machine-host';
import { MachineSetupError, prepareMachine, type MachineNeeds } from './prepare-machine';

interface Scene {
  root?: boolean;
  postgresUp?: boolean;
  rabbitUp?: boolean;
  managementUp?: boolean;
  /** Directories of /etc/postgresql: version → clusters. */
  clusters?: Record<string, string[]>;
  /** Executables, by full path. */
  executables?: string[];
  /** What a command does, by the program's base name and first argument. */
  effects?: Record<string, (scene: Scene) => CommandResult>;
}

const ok: CommandResult = { code: 0, stdout: '', stderr: '' };
const needs: MachineNeeds = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/aegir',
  amqpUrl: 'amqp://guest:guest@127.0.0.1:5672/',
  projectDir: '/srv/aegir',
  path: '/usr/bin:/bin',
};

/** A machine as the scene says, which records every command run and every line said. */
function scripted(scene: Scene) {
  const ran: string[] = [];
  const said: string[] = [];
  const executables = new Set(scene.executables ?? []);
  const host: MachineHost = {
    isRoot: () => scene.root ?? false,
    run: (file, args) => {
      ran.push([file, ...args].join(' '));
      const name = file.split('/').pop()!;
      const effect = scene.effects?.[`${name} ${args[0]}`] ?? scene.effects?.[name];
      return Promise.resolve(effect ? effect(scene) : ok);
    },
    which: (command, path) =>
      Promise.resolve(
        path
          .split(':')
          .map((dir) => `${dir}/${command}`)
          .find((file) => executables.has(file)),
      ),
    isExecutable: (file) => Promise.resolve(executables.has(file)),
    list: (dir) => {
      if (dir === '/etc/postgresql') return Promise.resolve(Object.keys(scene.clusters ?? {}));
      const version = dir.split('/').pop()!;
      return Promise.resolve(scene.clusters?.[version] ?? []);
    },
    answers: (_host, port) =>
      Promise.resolve(
        port === 5432
          ? !!scene.postgresUp
          : port === 15672
            ? !!scene.managementUp
            : !!scene.rabbitUp,
      ),
    sleep: () => Promise.resolve(),
    say: (line) => said.push(line),
  };
  return { host, ran, said, executables };
}

const ansibleOnPath = ['/usr/bin/ansible-playbook'];
const rabbitInstalled = ['/usr/sbin/rabbitmq-server', '/usr/sbin/rabbitmqctl'];

describe('prepareMachine', () => {
  describe("RabbitMQ's management API", () => {
    const withManagement = { ...needs, managementUrl: 'http://guest:guest@127.0.0.1:15672' };
    const base = { postgresUp: true, rabbitUp: true };

    it('runs nothing when it answers', async () => {
      const { host, ran, said } = scripted({
        ...base,
        managementUp: true,
        executables: ansibleOnPath,
      });
      await prepareMachine(withManagement, host);
      assert.deepEqual(ran, []);
      assert.ok(said.includes('RabbitMQ management API answers on 127.0.0.1:15672'), said.join());
    });

    it('enables the plugin when it does not answer, with rabbitmq-plugins (argv)', async () => {
      const { host, ran, said } = scripted({
        ...base,
        executables: [...ansibleOnPath, ...rabbitInstalled, '/usr/sbin/rabbitmq-plugins'],
        effects: {
          'rabbitmq-plugins enable': (scene) => {
            scene.managementUp = true;
            return ok;
          },
        },
      });
      await prepareMachine(withManagement, host);
      assert.deepEqual(ran, ['/usr/sbin/rabbitmq-plugins enable rabbitmq_management']);
      assert.ok(said.includes('RabbitMQ management API answers on 127.0.0.1:15672 (enabled)'));
    });

    it('names the command when rabbitmq-plugins is missing (exit 2)', async () => {
      const { host } = scripted({ ...base, executables: ansibleOnPath });
      await assert.rejects(prepareMachine(withManagement, host), (error: MachineSetupError) => {
        assert.equal(error.exitCode, 2);
        assert.match(error.message, /does not answer on 127\.0\.0\.1:15672/);
        assert.match(error.message, /rabbitmq-plugins enable rabbitmq_management/);
        return true;
      });
    });

    it('says so when enabling fails, and leaves a remote broker alone', async () => {
      const failing = scripted({
        ...base,
        executables: [...ansibleOnPath, '/usr/sbin/rabbitmq-plugins'],
        effects: {
          'rabbitmq-plugins': () => ({ code: 70, stdout: '', stderr: 'Error: node down' }),
        },
      });
      await assert.rejects(prepareMachine(withManagement, failing.host), {
        message: /did not come up on 127\.0\.0\.1:15672: Error: node down/,
      });
      const remote = scripted({ ...base, executables: ansibleOnPath });
      await assert.rejects(
        prepareMachine({ ...needs, managementUrl: 'http://broker.example:15672' }, remote.host),
        { message: /not on this machine/ },
      );
      assert.deepEqual(remote.ran, []);
    });
  });

  it('runs nothing when both services answer and ansible-playbook is on PATH', async () => {
    const { host, ran, said } = scripted({
      postgresUp: true,
      rabbitUp: true,
      executables: ansibleOnPath,
    });
    const prepared = await prepareMachine(needs, host);
    assert.deepEqual(ran, []);
    assert.deepEqual(prepared, { path: needs.path, ansiblePlaybook: '/usr/bin/ansible-playbook' });
    assert.deepEqual(said, [
      'PostgreSQL answers on 127.0.0.1:5432',
      'RabbitMQ answers on 127.0.0.1:5672',
      'ansible-playbook: /usr/bin/ansible-playbook',
    ]);
  });

  it('starts every installed PostgreSQL cluster when the database does not answer, saying so', async () => {
    const { host, ran, said } = scripted({
      rabbitUp: true,
      clusters: { '15': ['main'] },
      executables: ansibleOnPath,
      effects: {
        pg_ctlcluster: (scene) => {
          scene.postgresUp = true;
          return ok;
        },
      },
    });
    await prepareMachine(needs, host);
    assert.deepEqual(ran, ['pg_ctlcluster --skip-systemctl-redirect 15 main start']);
    assert.match(said[0], /PostgreSQL does not answer on 127\.0\.0\.1:5432: starting it/);
    assert.equal(said[1], 'PostgreSQL answers on 127.0.0.1:5432 (started)');
  });

  it('starts RabbitMQ detached and asks until it has started when the broker does not answer', async () => {
    const { host, ran } = scripted({
      postgresUp: true,
      executables: [...ansibleOnPath, ...rabbitInstalled],
      effects: {
        // the first try comes before the detached node has registered
        rabbitmqctl: (scene) => {
          if (scene.rabbitUp === undefined) {
            scene.rabbitUp = false;
            return {
              code: 69,
              stdout: '',
              stderr: 'Error: unable to perform an operation on node',
            };
          }
          scene.rabbitUp = true;
          return ok;
        },
      },
    });
    await prepareMachine(needs, host);
    assert.deepEqual(ran, [
      '/usr/sbin/rabbitmq-server -detached',
      '/usr/sbin/rabbitmqctl -q await_startup --timeout 60',
      '/usr/sbin/rabbitmqctl -q await_startup --timeout 60',
    ]);
  });

  it('fails, naming the error, when a started service never answers', async () => {
    const { host } = scripted({
      clusters: { '15': ['main'] },
      effects: { pg_ctlcluster: () => ({ code: 1, stdout: '', stderr: 'port 5432 in use\n' }) },
    });
    await assert.rejects(prepareMachine(needs, host), (error: MachineSetupError) => {
      assert.equal(error.exitCode, 1);
      assert.match(error.message, /still does not answer .*15\/main: port 5432 in use/);
      return true;
    });
  });

  it('never starts a service of another machine: it names the URL, without its password', async () => {
    const { host, ran } = scripted({ rabbitUp: true, clusters: { '15': ['main'] } });
    await assert.rejects(
      prepareMachine(
        { ...needs, databaseUrl: 'postgres://aegir:s3cret@db.example:5432/aegir' },
        host,
      ),
      (error: MachineSetupError) => {
        assert.equal(error.exitCode, 1);
        assert.match(
          error.message,
          /PostgreSQL does not answer at postgres:\/\/aegir:\*\*\*@db\.example/,
        );
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      },
    );
    assert.deepEqual(ran, []);
  });

  it('exits 2 with the install commands when a service is not installed at all', async () => {
    const { host } = scripted({ postgresUp: true, executables: ansibleOnPath });
    await assert.rejects(prepareMachine(needs, host), (error: MachineSetupError) => {
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /apt-get install -y rabbitmq-server/);
      return true;
    });
  });

  it('installs Debian ansible-core with apt-get when root', async () => {
    const { host, ran, executables } = scripted({
      root: true,
      postgresUp: true,
      rabbitUp: true,
      executables: ['/usr/bin/apt-get', '/usr/bin/python3'],
      effects: {
        'apt-get install': () => {
          executables.add('/usr/bin/ansible-playbook');
          return ok;
        },
      },
    });
    const prepared = await prepareMachine(needs, host);
    assert.deepEqual(ran, [
      '/usr/bin/apt-get update -qq',
      '/usr/bin/apt-get install -y -qq ansible-core',
    ]);
    assert.equal(prepared.ansiblePlaybook, '/usr/bin/ansible-playbook');
  });

  it('installs ansible-core with pip into the project-local venv when not root, and puts it first on PATH', async () => {
    const { host, ran, executables } = scripted({
      postgresUp: true,
      rabbitUp: true,
      executables: ['/usr/bin/apt-get', '/usr/bin/python3'],
      effects: {
        'pip install': () => {
          executables.add('/srv/aegir/.venv/bin/ansible-playbook');
          return ok;
        },
      },
    });
    const prepared = await prepareMachine(needs, host);
    assert.deepEqual(ran, [
      '/usr/bin/python3 -m venv /srv/aegir/.venv',
      '/srv/aegir/.venv/bin/pip install --quiet ansible-core',
    ]);
    assert.deepEqual(prepared, {
      path: `/srv/aegir/.venv/bin:${needs.path}`,
      ansiblePlaybook: '/srv/aegir/.venv/bin/ansible-playbook',
    });
  });

  it('uses an ansible-playbook already in the venv without installing anything', async () => {
    const { host, ran } = scripted({
      postgresUp: true,
      rabbitUp: true,
      executables: ['/srv/aegir/.venv/bin/ansible-playbook'],
    });
    const prepared = await prepareMachine(needs, host);
    assert.deepEqual(ran, []);
    assert.equal(prepared.path, `/srv/aegir/.venv/bin:${needs.path}`);
  });

  it('falls back to the venv when apt-get fails, and exits 2 with the exact commands when pip does too', async () => {
    const failed = { code: 100, stdout: '', stderr: 'E: Unable to locate package\n' };
    const { host, ran, said } = scripted({
      root: true,
      postgresUp: true,
      rabbitUp: true,
      executables: ['/usr/bin/apt-get', '/usr/bin/python3'],
      effects: {
        'apt-get install': () => failed,
        'pip install': () => ({ code: 1, stdout: '', stderr: 'No matching distribution\n' }),
      },
    });
    await assert.rejects(prepareMachine(needs, host), (error: MachineSetupError) => {
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /apt-get update && apt-get install -y ansible-core/);
      assert.match(
        error.message,
        /python3 -m venv \.venv && \.venv\/bin\/pip install ansible-core/,
      );
      return true;
    });
    assert.equal(ran.length, 4);
    assert.ok(said.some((line) => /apt-get could not install ansible-core: E: Unable/.test(line)));
    assert.ok(said.some((line) => /pip could not install ansible-core: No matching/.test(line)));
  });

  it('exits 2 with the commands when neither apt-get (not root) nor python3 is there', async () => {
    const { host, ran } = scripted({ postgresUp: true, rabbitUp: true, executables: [] });
    await assert.rejects(prepareMachine(needs, host), { exitCode: 2 });
    assert.deepEqual(ran, []);
  });
});

describe('prepareMachine on this machine', () => {
  it('finds both services up and ansible-playbook installed, and changes nothing', async () => {
    const said: string[] = [];
    const ran: string[] = [];
    const watched: MachineHost = {
      ...realHost,
      run: (file, args, options) => {
        ran.push([file, ...args].join(' '));
        return realHost.run(file, args, options);
      },
      say: (line) => said.push(line),
    };
    const prepared = await prepareMachine(
      { ...needs, projectDir: process.cwd(), path: process.env.PATH ?? '' },
      watched,
    );
    assert.deepEqual(ran, []);
    assert.equal(said.length, 3);
    assert.match(prepared.ansiblePlaybook, /ansible-playbook$/);
  });
});
