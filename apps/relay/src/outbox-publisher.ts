import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { AmqpChannels, PublishError, type ConfirmedPublisher } from '@app/amqp';
import type { CancelMessage, DispatchMessage } from '@app/contracts';
import {
  canMove,
  OperationStateRepository,
  OUTBOX_CHANNEL,
  PgListener,
  type PendingOutboxRow,
} from '@app/database';
import { logEntry } from '@app/platform';
import { MessageSigner } from './message-signer';
import { RelaySettings } from './relay.settings';

/**
 * Moves outbox rows to the broker. Woken by NOTIFY, polling as a fallback; rows are
 * claimed with FOR UPDATE SKIP LOCKED so relays can run side by side, published with
 * confirms, and marked published in the same transaction, which also drops their message
 * (it held the params). A row the broker did not take stays in the outbox and is tried
 * again later: an operation is never lost.
 */
@Injectable()
export class OutboxPublisher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxPublisher.name);
  private listener?: PgListener;
  private publisher!: ConfirmedPublisher;
  private poll?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly state: OperationStateRepository,
    private readonly amqp: AmqpChannels,
    private readonly config: RelaySettings,
    private readonly signer: MessageSigner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.publisher = this.amqp.confirmedPublisher();
    const url = (this.dataSource.options as PostgresConnectionOptions).url as string;
    this.listener = new PgListener(url, OUTBOX_CHANNEL, () => this.wake());
    await this.listener.start();
    this.poll = setInterval(() => this.wake(), this.config.outboxPollMs);
  }

  /** Drain now; if a drain is under way, run one more pass after it. */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.publishBatch()) === this.config.outboxBatch) {
        // a full batch: there may be more
      }
    } catch (error) {
      this.logger.warn(`outbox: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Publishes one claimed batch; returns how many rows it claimed. */
  private async publishBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await this.state.claimOutboxRows(manager, this.config.outboxBatch);
      if (rows.length === 0) return 0;
      const results = await Promise.allSettled(rows.map((row) => this.publishRow(row)));
      const published: string[] = [];
      const dispatched: string[] = [];
      for (const [index, result] of results.entries()) {
        const row = rows[index];
        if (result.status === 'fulfilled') {
          published.push(row.id);
          if (row.kind === 'dispatch' && result.value) dispatched.push(row.operation_id);
          continue;
        }
        const reason =
          result.reason instanceof Error ? result.reason.message : String(result.reason);
        this.logger.warn(
          logEntry(
            `outbox row ${row.id} (${row.kind} ${row.operation_id}) not published: ${reason}`,
            { operationId: row.operation_id },
          ),
        );
        await this.state.deferOutboxRow(manager, row, reason);
      }
      await this.state.markPublished(manager, published, dispatched);
      return rows.length;
    });
  }

  /** Resolves true when published, false when there was nothing left to publish for it. */
  private async publishRow(row: PendingOutboxRow): Promise<boolean> {
    if (row.kind === 'dispatch' && !canMove(row.operation_status, 'dispatched')) {
      // cancelled (or otherwise moved on) before it reached the broker: nothing to run
      return false;
    }
    // signed now, not when the row was written: the expiry counts from the publish
    const signed =
      row.kind === 'dispatch'
        ? this.signer.dispatch(row.payload as DispatchMessage, row.routing_key)
        : this.signer.cancel(row.payload as CancelMessage);
    try {
      await this.publisher.publish(row.exchange, row.routing_key, signed.body, {
        messageId: `outbox-${row.id}`,
        type: row.kind,
        headers: signed.headers,
      });
    } catch (error) {
      // a cancel nobody can hear: no dispatcher is connected, so none is running it
      if (row.kind === 'cancel' && error instanceof PublishError && error.unroutable) return false;
      throw error;
    }
    return true;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    await this.listener?.stop();
    await this.draining;
  }
}
