import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestVhost {
  name: string;
  url: string;
  delete(): Promise<void>;
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
    delete: async () => {
      await run('rabbitmqctl', ['-q', 'delete_vhost', name]);
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
