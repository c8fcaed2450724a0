import { Logger } from '@nestjs/common';
import { Client } from 'pg';

/**
 * Holds one connection that LISTENs on a channel and calls `onNotify` for every
 * notification; reconnects after an error. Polling covers the gaps.
 */
export class PgListener {
  private readonly logger = new Logger(PgListener.name);
  private client?: Client;
  private stopped = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly connectionString: string,
    private readonly channel: string,
    private readonly onNotify: (payload: string | undefined) => void,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.connectionString,
      application_name: 'aegir-relay-listen',
    });
    client.on('notification', (message) => this.onNotify(message.payload));
    client.on('error', (error) => this.reconnect(client, error));
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      this.client = client;
      this.onNotify(undefined); // anything written while we were not listening
    } catch (error) {
      this.reconnect(client, error);
    }
  }

  private reconnect(client: Client, error?: unknown): void {
    if (this.stopped || this.retry || (this.client && this.client !== client)) return;
    if (error) {
      const reason = error instanceof Error ? error.message : JSON.stringify(error);
      this.logger.warn(`LISTEN ${this.channel} lost: ${reason}; retrying`);
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
