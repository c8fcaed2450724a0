import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { LOG_CHANNEL, PgListener, STATUS_CHANNEL } from '@app/database';

/**
 * What the hub tells: an operation's lines or status changed (`log`, `status`: the relay's
 * and the repository's NOTIFYs, with the operation id), or the connection was (re)made and
 * anything may have changed meanwhile (`resync`).
 */
export type HubEvent = { kind: 'log' | 'status'; operationId: string } | { kind: 'resync' };

/**
 * The api's one LISTEN connection (aegir_log and aegir_status), fanned out to every stream
 * of this process: no stream polls the database on its own.
 */
@Injectable()
export class NotificationHub implements OnModuleInit, OnModuleDestroy {
  private listener?: PgListener;
  private readonly handlers = new Set<(event: HubEvent) => void>();

  constructor(private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    const url = (this.dataSource.options as PostgresConnectionOptions).url as string;
    this.listener = new PgListener(
      url,
      [LOG_CHANNEL, STATUS_CHANNEL],
      (channel, payload) => this.dispatch(channel, payload),
      'aegir-api-listen',
    );
    await this.listener.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.listener?.stop();
  }

  /** Connected and listening now. */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  /** Calls `handler` for every event until the returned function is called. */
  subscribe(handler: (event: HubEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private dispatch(channel: string | undefined, payload: string | undefined): void {
    const event: HubEvent | undefined =
      channel === undefined
        ? { kind: 'resync' }
        : payload
          ? { kind: channel === STATUS_CHANNEL ? 'status' : 'log', operationId: payload }
          : undefined;
    if (!event) return;
    for (const handler of this.handlers) handler(event);
  }
}
