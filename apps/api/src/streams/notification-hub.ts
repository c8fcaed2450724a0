import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { LOG_CHANNEL, PgListener, STATUS_CHANNEL, TOKEN_CHANNEL } from '@app/database';

/**
 * What the hub tells: an operation's lines or status changed (`log`, `status`: the relay's
 * and the repository's NOTIFYs, with the operation id), a token was revoked (`token`), or the
 * connection was (re)made and anything may have changed meanwhile (`resync`).
 */
export type HubEvent =
  | { kind: 'log' | 'status'; operationId: string }
  | { kind: 'token'; tokenId: string }
  | { kind: 'resync' };

const KIND_OF_CHANNEL: Record<string, 'log' | 'status' | 'token'> = {
  [LOG_CHANNEL]: 'log',
  [STATUS_CHANNEL]: 'status',
  [TOKEN_CHANNEL]: 'token',
};

/**
 * The api's one LISTEN connection (aegir_log, aegir_status and aegir_token), fanned out to
 * every stream of this process: no stream polls the database on its own.
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
      [LOG_CHANNEL, STATUS_CHANNEL, TOKEN_CHANNEL],
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
    const kind = channel === undefined ? 'resync' : KIND_OF_CHANNEL[channel];
    if (kind === undefined || (kind !== 'resync' && !payload)) return;
    const event: HubEvent =
      kind === 'resync'
        ? { kind }
        : kind === 'token'
          ? { kind, tokenId: payload! }
          : { kind, operationId: payload! };
    for (const handler of this.handlers) handler(event);
  }
}
