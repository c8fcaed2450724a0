import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { brokerUsers } from '@app/contracts';

const run = promisify(execFile);

export interface TestVhost {
  name: string;
  /** As the broker's admin (full rights on this vhost). */
  url: string;
  /** The management API as the broker's admin, for `aegir broker:setup` (BROKER_ADMIN_URL). */
  adminUrl: string;
  /** Removes the vhost and every user `aegir broker:setup` made for it. */
  delete(): Promise<void>;
}

/** The broker's management API as its admin. */
export const testBrokerAdminUrl = (): string =>
  process.env.TEST_BROKER_ADMIN_URL ?? 'http://guest:guest@127.0.0.1:15672';

/** The users of a vhost (`aegir-<role>@<vhost>`, see brokerUserName), removed with it. */
async function deleteUsersOf(vhost: string): Promise<void> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_users', '--no-table-headers']);
  const users = stdout
    .split('\n')
    .map((line) => line.split('\t')[0].trim())
    .filter((user) => user.startsWith('aegir-') && user.endsWith(`@${vhost}`));
  for (const user of users) await run('rabbitmqctl', ['-q', 'delete_user', user]);
}

const baseUrl = (): URL =>
  new URL(process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/');

/** A RabbitMQ vhost of its own for one test file (rabbitmqctl: tests run as the broker's admin). */
export async function createTestVhost(prefix = 'aegir_test'): Promise<TestVhost> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const user = decodeURIComponent(baseUrl().username || 'guest');
  await run('rabbitmqctl', ['-q', 'add_vhost', name]);
  await run('rabbitmqctl', ['-q', 'set_permissions', '-p', name, user, '.*', '.*', '.*']);
  const url = baseUrl();
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    name,
    url: url.toString(),
    adminUrl: testBrokerAdminUrl(),
    delete: async () => {
      await run('rabbitmqctl', ['-q', 'delete_vhost', name]);
      await deleteUsersOf(name);
    },
  };
}

/** Messages waiting in a queue of the vhost, by name. */
export async function queueDepths(vhost: string): Promise<Record<string, number>> {
  const { stdout } = await run('rabbitmqctl', [
    '-q',
    'list_queues',
    '-p',
    vhost,
    '--no-table-headers',
    'name',
    'messages',
  ]);
  const depths: Record<string, number> = {};
  for (const line of stdout.trim().split('\n')) {
    const [name, messages] = line.trim().split(/\s+/);
    if (name) depths[name] = Number(messages);
  }
  return depths;
}

/**
 * A broker user of the vhost with exactly the permissions `aegir broker:setup` gives its
 * role (`relay`, `console`, `dispatcher-<pool>`), made with rabbitmqctl; its AMQP URL.
 * Removed with the vhost.
 */
export async function createBrokerUser(vhost: TestVhost, role: string): Promise<string> {
  const pool = /^dispatcher-(.+)$/.exec(role)?.[1];
  const user = brokerUsers(vhost.name, pool ? [pool] : []).find((entry) => entry.role === role);
  if (!user) throw new Error(`no broker role ${role}`);
  const password = randomBytes(16).toString('hex');
  await run('rabbitmqctl', ['-q', 'add_user', user.name, password]);
  const { configure, write, read } = user.permissions;
  await run('rabbitmqctl', [
    '-q',
    'set_permissions',
    '-p',
    vhost.name,
    user.name,
    configure,
    write,
    read,
  ]);
  const url = new URL(vhost.url);
  url.username = encodeURIComponent(user.name);
  url.password = password;
  return url.toString();
}
