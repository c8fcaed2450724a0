import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import amqplib, { type ConfirmChannel, type ChannelModel, type GetMessage } from 'amqplib';

/**
 * The real PostgreSQL and RabbitMQ of this machine, stopped and started by the fault suite
 * (as root, like `rabbitmqctl` in broker.ts), and a raw AMQP client for publishing what the
 * apps never would. Stopping a service affects everything using it: run these tests alone.
 */

const run = promisify(execFile);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const started = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(250);
  }
}

export const rabbitmq = {
  /** Stops the broker application (the Erlang node stays up): every connection drops. */
  async stop(): Promise<void> {
    await run('rabbitmqctl', ['-q', 'stop_app'], { timeout: 120_000 });
  },

  /** Starts it again and waits until it accepts work. */
  async start(): Promise<void> {
    await run('rabbitmqctl', ['-q', 'start_app'], { timeout: 120_000 });
    await run('rabbitmqctl', ['-q', 'await_startup'], { timeout: 120_000 });
  },

  async isRunning(): Promise<boolean> {
    try {
      await run('rabbitmqctl', ['-q', 'await_startup', '--timeout', '1'], { timeout: 15_000 });
      return true;
    } catch {
      return false;
    }
  },
};

/** The one cluster in /etc/postgresql (e.g. `15`), as pg_ctlcluster names it. */
async function postgresVersion(): Promise<string> {
  const versions = (await readdir('/etc/postgresql')).filter((name) => /^\d+$/.test(name));
  if (versions.length !== 1) {
    throw new Error(`expected one version in /etc/postgresql, found ${versions.join(', ')}`);
  }
  return versions[0];
}

async function pgctl(action: 'start' | 'stop'): Promise<void> {
  const version = await postgresVersion();
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], {
    timeout: 120_000,
  });
}

export const postgres = {
  /** Stops the cluster (fast mode: connections are cut). */
  async stop(): Promise<void> {
    await pgctl('stop');
  },

  /** Starts it and waits until it accepts connections. */
  async start(): Promise<void> {
    await pgctl('start');
    await until('PostgreSQL not ready', 60_000, () => postgres.isReady());
  },

  async isReady(): Promise<boolean> {
    try {
      await run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432'], { timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  },
};

/** Brings both services back if a scenario left one stopped (call it in `after`). */
export async function ensureServicesUp(): Promise<void> {
  if (!(await postgres.isReady())) await postgres.start();
  if (!(await rabbitmq.isRunning())) await rabbitmq.start();
}

/** A plain amqplib connection to a vhost, outside the apps. */
export class RawAmqp {
  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async connect(url: string): Promise<RawAmqp> {
    const connection = await amqplib.connect(url);
    connection.on('error', () => undefined);
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    return new RawAmqp(connection, channel);
  }

  /** Publishes persistent bytes and waits for the broker's confirm. */
  async publish(
    exchange: string,
    routingKey: string,
    body: Buffer | string | object,
    options: amqplib.Options.Publish = {},
  ): Promise<void> {
    const content = Buffer.isBuffer(body)
      ? body
      : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel.publish(exchange, routingKey, content, { persistent: true, ...options });
    await this.channel.waitForConfirms();
  }

  /**
   * Messages ready in a queue, asked of the queue itself (`rabbitmqctl list_queues` reports
   * quorum queues from metrics that can be seconds old). Unacked messages are not counted.
   */
  async readyCount(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /**
   * Every message now in the queue, read with basic.get and put back afterwards (the
   * queue is left as it was, give or take the order).
   */
  async peek(queue: string): Promise<GetMessage[]> {
    const messages: GetMessage[] = [];
    for (;;) {
      const message = await this.channel.get(queue, { noAck: false });
      if (message === false) break;
      messages.push(message);
    }
    for (const message of messages) this.channel.nack(message, false, true);
    return messages;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
