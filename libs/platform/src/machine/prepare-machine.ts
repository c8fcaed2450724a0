import { delimiter, join } from 'node:path';
import { redactUrl } from '../redact-url';
import type { CommandResult, MachineHost } from './machine-host';

export interface MachineNeeds {
  databaseUrl: string;
  amqpUrl: string;
  /**
   * RabbitMQ's management API (`aegir broker:setup` needs it): when given and local, the
   * `rabbitmq_management` plugin is enabled if the API does not answer.
   */
  managementUrl?: string;
  /** Where a project-local Python venv (`.venv`) goes when ansible-core is installed with pip. */
  projectDir: string;
  /** PATH as the apps would get it. */
  path: string;
}

export interface PreparedMachine {
  /** PATH with the project's own tools first, where it has any: the apps must get this one. */
  path: string;
  ansiblePlaybook: string;
}

/** Something this machine lacks and this program cannot provide; `commands` would. */
export class MachineSetupError extends Error {
  override readonly name = 'MachineSetupError';

  constructor(
    problem: string,
    readonly commands: readonly string[],
    /** 2: nothing here could provide it; 1: starting or installing it failed. */
    readonly exitCode: 1 | 2,
  ) {
    super(
      commands.length > 0
        ? `${problem}; to fix it, run:\n${commands.map((command) => `  ${command}`).join('\n')}`
        : problem,
    );
  }
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '']);
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const SECOND = 1000;
const MINUTE = 60 * SECOND;

export const LOCAL_VENV_DIR = '.venv';

/** The project-local tools directory: put it first on PATH where it exists. */
export function localToolsDir(projectDir: string): string {
  return join(projectDir, LOCAL_VENV_DIR, 'bin');
}

interface Endpoint {
  host: string;
  port: number;
  label: string;
}

function endpointOf(url: string, defaultPort: number): Endpoint {
  const parsed = new URL(url);
  const port = parsed.port ? Number(parsed.port) : defaultPort;
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port, label: `${parsed.hostname || host}:${port}` };
}

/** The line of a command's output that says what went wrong: its first error, else its last. */
function whatFailed(result: CommandResult): string {
  const lines = (result.stderr.trim() || result.stdout.trim()).split('\n').filter(Boolean);
  return (
    lines.find((line) => /^(error|e:|fatal)/i.test(line.trim())) ??
    lines[lines.length - 1] ??
    `exit code ${result.code}`
  );
}

/**
 * Makes this machine ready for the demo and the tests, saying each thing it does: starts a
 * local PostgreSQL or RabbitMQ that is installed but does not answer, and provides
 * ansible-playbook when it is missing (Debian's ansible-core with apt-get when root, else
 * ansible-core with pip in a project-local venv). What it cannot do is a MachineSetupError
 * that names the commands that would.
 */
export async function prepareMachine(
  needs: MachineNeeds,
  host: MachineHost,
): Promise<PreparedMachine> {
  const systemPath = [needs.path, ...SYSTEM_DIRS].join(delimiter);
  await ensurePostgres(endpointOf(needs.databaseUrl, 5432), needs.databaseUrl, host);
  await ensureRabbitmq(endpointOf(needs.amqpUrl, 5672), needs.amqpUrl, host, systemPath);
  if (needs.managementUrl !== undefined) {
    const at = endpointOf(needs.managementUrl, 15672);
    await ensureManagement(at, needs.managementUrl, host, systemPath);
  }
  return ensureAnsible(needs, host, systemPath);
}

async function answersSoon(host: MachineHost, at: Endpoint, withinMs: number): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    if (await host.answers(at.host, at.port, 1000)) return true;
    if (Date.now() - started > withinMs) return false;
    await host.sleep(500);
  }
}

async function untilSucceeds(
  host: MachineHost,
  withinMs: number,
  attempt: () => Promise<CommandResult>,
): Promise<CommandResult> {
  const started = Date.now();
  for (;;) {
    const result = await attempt();
    if (result.code === 0 || Date.now() - started > withinMs) return result;
    await host.sleep(2000);
  }
}

/** A service that does not answer may be started only when it is this machine's own. */
function refuseRemote(name: string, at: Endpoint, url: string): void {
  if (!LOCAL_HOSTS.has(at.host)) {
    throw new MachineSetupError(
      `${name} does not answer at ${redactUrl(url)}, and it is not on this machine: start it there, or point the URL at one that runs`,
      [],
      1,
    );
  }
}

async function ensurePostgres(at: Endpoint, url: string, host: MachineHost): Promise<void> {
  if (await host.answers(at.host, at.port, 2000)) {
    host.say(`PostgreSQL answers on ${at.label}`);
    return;
  }
  refuseRemote('PostgreSQL', at, url);
  const clusters: [string, string][] = [];
  for (const version of await host.list('/etc/postgresql')) {
    for (const cluster of await host.list(`/etc/postgresql/${version}`)) {
      clusters.push([version, cluster]);
    }
  }
  if (clusters.length === 0) {
    throw new MachineSetupError(
      `PostgreSQL does not answer on ${at.label} and no cluster is installed (/etc/postgresql is empty)`,
      [
        'apt-get update && apt-get install -y postgresql',
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
      ],
      2,
    );
  }
  const failures: string[] = [];
  for (const [version, cluster] of clusters) {
    const args = ['--skip-systemctl-redirect', version, cluster, 'start'];
    host.say(
      `PostgreSQL does not answer on ${at.label}: starting it (pg_ctlcluster ${args.join(' ')})`,
    );
    const started = await host.run('pg_ctlcluster', args, { timeoutMs: MINUTE });
    if (started.code !== 0) failures.push(`${version}/${cluster}: ${whatFailed(started)}`);
  }
  if (!(await answersSoon(host, at, 30 * SECOND))) {
    throw new MachineSetupError(
      `PostgreSQL still does not answer on ${at.label} after starting it${failures.length ? ` (${failures.join('; ')})` : ''}`,
      [],
      1,
    );
  }
  host.say(`PostgreSQL answers on ${at.label} (started)`);
}

async function ensureRabbitmq(
  at: Endpoint,
  url: string,
  host: MachineHost,
  systemPath: string,
): Promise<void> {
  if (await host.answers(at.host, at.port, 2000)) {
    host.say(`RabbitMQ answers on ${at.label}`);
    return;
  }
  refuseRemote('RabbitMQ', at, url);
  const server = await host.which('rabbitmq-server', systemPath);
  const control = await host.which('rabbitmqctl', systemPath);
  if (!server || !control) {
    throw new MachineSetupError(
      `RabbitMQ does not answer on ${at.label} and is not installed`,
      ['apt-get update && apt-get install -y rabbitmq-server', 'rabbitmq-server -detached'],
      2,
    );
  }
  host.say(`RabbitMQ does not answer on ${at.label}: starting it (rabbitmq-server -detached)`);
  const started = await host.run(server, ['-detached'], { timeoutMs: MINUTE });
  if (started.code !== 0) {
    throw new MachineSetupError(`rabbitmq-server -detached failed: ${whatFailed(started)}`, [], 1);
  }
  // Until the detached node has registered, rabbitmqctl cannot reach it and fails at once.
  const ready = await untilSucceeds(host, 120 * SECOND, () =>
    host.run(control, ['-q', 'await_startup', '--timeout', '60'], { timeoutMs: 70 * SECOND }),
  );
  if (ready.code !== 0 || !(await answersSoon(host, at, 30 * SECOND))) {
    throw new MachineSetupError(
      `RabbitMQ did not come up on ${at.label}: ${whatFailed(ready)}`,
      [],
      1,
    );
  }
  host.say(`RabbitMQ answers on ${at.label} (started)`);
}

/** A fresh RabbitMQ has its management plugin off: enabling it starts the API on the running node. */
async function ensureManagement(
  at: Endpoint,
  url: string,
  host: MachineHost,
  systemPath: string,
): Promise<void> {
  if (await host.answers(at.host, at.port, 2000)) {
    host.say(`RabbitMQ management API answers on ${at.label}`);
    return;
  }
  refuseRemote("RabbitMQ's management API", at, url);
  const plugins = await host.which('rabbitmq-plugins', systemPath);
  if (!plugins) {
    throw new MachineSetupError(
      `RabbitMQ's management API does not answer on ${at.label} and rabbitmq-plugins is not installed`,
      ['rabbitmq-plugins enable rabbitmq_management'],
      2,
    );
  }
  host.say(
    `RabbitMQ's management API does not answer on ${at.label}: enabling it (rabbitmq-plugins enable rabbitmq_management)`,
  );
  const enabled = await host.run(plugins, ['enable', 'rabbitmq_management'], {
    timeoutMs: 2 * MINUTE,
  });
  if (enabled.code !== 0 || !(await answersSoon(host, at, MINUTE))) {
    throw new MachineSetupError(
      `RabbitMQ's management API did not come up on ${at.label}: ${
        enabled.code !== 0 ? whatFailed(enabled) : 'no answer within a minute'
      }`,
      [],
      1,
    );
  }
  host.say(`RabbitMQ management API answers on ${at.label} (enabled)`);
}

async function ensureAnsible(
  needs: MachineNeeds,
  host: MachineHost,
  systemPath: string,
): Promise<PreparedMachine> {
  const localDir = localToolsDir(needs.projectDir);
  const withLocal = [localDir, needs.path].join(delimiter);
  const found = async (): Promise<PreparedMachine | undefined> => {
    const onPath = await host.which('ansible-playbook', needs.path);
    if (onPath) return { path: needs.path, ansiblePlaybook: onPath };
    const local = join(localDir, 'ansible-playbook');
    if (await host.isExecutable(local)) return { path: withLocal, ansiblePlaybook: local };
    return undefined;
  };

  const present = await found();
  if (present) {
    host.say(`ansible-playbook: ${present.ansiblePlaybook}`);
    return present;
  }

  const aptGet = host.isRoot() ? await host.which('apt-get', systemPath) : undefined;
  if (aptGet) {
    host.say("ansible-playbook is missing: installing Debian's ansible-core with apt-get");
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const update = await host.run(aptGet, ['update', '-qq'], { timeoutMs: 10 * MINUTE, env });
    const install =
      update.code === 0
        ? await host.run(aptGet, ['install', '-y', '-qq', 'ansible-core'], {
            timeoutMs: 20 * MINUTE,
            env,
          })
        : update;
    const installed = install.code === 0 ? await found() : undefined;
    if (installed) {
      host.say(`ansible-playbook: ${installed.ansiblePlaybook} (installed with apt-get)`);
      return installed;
    }
    host.say(`apt-get could not install ansible-core: ${whatFailed(install)}`);
  }

  const python = await host.which('python3', systemPath);
  if (python) {
    const venv = join(needs.projectDir, LOCAL_VENV_DIR);
    host.say(`ansible-playbook is missing: installing ansible-core with pip into ${venv}`);
    const made = await host.run(python, ['-m', 'venv', venv], { timeoutMs: 5 * MINUTE });
    const pip =
      made.code === 0
        ? await host.run(join(localDir, 'pip'), ['install', '--quiet', 'ansible-core'], {
            timeoutMs: 20 * MINUTE,
          })
        : made;
    const installed = pip.code === 0 ? await found() : undefined;
    if (installed) {
      host.say(`ansible-playbook: ${installed.ansiblePlaybook} (installed with pip)`);
      return installed;
    }
    host.say(`pip could not install ansible-core: ${whatFailed(pip)}`);
  }

  throw new MachineSetupError(
    'ansible-playbook is missing and could not be installed here',
    [
      'apt-get update && apt-get install -y ansible-core   # as root, on Debian or Ubuntu',
      `python3 -m venv ${LOCAL_VENV_DIR} && ${LOCAL_VENV_DIR}/bin/pip install ansible-core   # in the project's directory, as any user`,
    ],
    2,
  );
}
