import { Logger } from '@nestjs/common';
import { Client } from 'pg';

/**
 * Called for every notification, and once with `channel` undefined after each (re)connect:
 * anything may have been written while nobody listened.
 */
export type NotifyHandler = (channel: string | undefined, payload: string | undefined) => void;

/**
 * Holds one connection that LISTENs on some channels and calls `onNotify` for every
 * notification; reconnects after an error, a second later. Whoever relies on it reads again
 * after a reconnect (the call with no channel), or polls, to cover the gap.
 */
export class PgListener {
  private readonly logger = new Logger(PgListener.name);
  private readonly channels: readonly string[];
  private client?: Client;
  private stopped = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly connectionString: string,
    channels: string | readonly string[],
    private readonly onNotify: NotifyHandler,
    private readonly applicationName = 'aegir-relay-listen',
  ) {
    this.channels = typeof channels === 'string' ? [channels] : channels;
  }

  /** Connected and listening now. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.connectionString,
      application_name: this.applicationName,
    });
    client.on('notification', (message) => this.onNotify(message.channel, message.payload));
    client.on('error', (error) => this.reconnect(client, error));
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
      this.client = client;
      this.onNotify(undefined, undefined);
    } catch (error) {
      this.reconnect(client, error);
    }
  }

  private reconnect(client: Client, error?: unknown): void {
    if (this.stopped || this.retry || (this.client && this.client !== client)) return;
    if (error) {
      const reason = error instanceof Error ? error.message : JSON.stringify(error);
      this.logger.warn(`LISTEN ${this.channels.join(', ')} lost: ${reason}; retrying`);
    }
    this.client = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.start();
    }, 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
