import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { AmqpChannels, PublishError, type ConfirmedPublisher } from '@app/amqp';
import { encodeMessage } from '@app/contracts';
import { OUTBOX_CHANNEL } from '@app/database';
import { PgListener } from './pg-listener';
import { RELAY_CONFIG, type RelayConfig } from './relay.config';

interface OutboxRow {
  id: string;
  kind: 'dispatch' | 'cancel';
  operation_id: string;
  exchange: string;
  routing_key: string;
  payload: object;
  attempts: number;
  operation_status: string;
}

/** Seconds before a row whose publish failed is tried again: 1, 2, 4, 8, then every 10. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(2 ** Math.max(attempts - 1, 0), 10);
}

/**
 * Outbox rows ready to go, oldest first. A dispatch of an operation that wants its target
 * to itself waits while another such operation on that target is dispatched or running,
 * or is older and still queued: one at a time per target, in order.
 */
export const CLAIM_OUTBOX_ROWS = `
  SELECT o.id, o.kind, o.operation_id, o.exchange, o.routing_key, o.payload, o.attempts,
         op.status AS operation_status
    FROM outbox o JOIN operations op ON op.id = o.operation_id
   WHERE o.published_at IS NULL AND o.available_at <= now()
     AND (o.kind <> 'dispatch' OR op.status <> 'queued' OR NOT op.exclusive OR NOT EXISTS (
           SELECT 1 FROM operations other
            WHERE other.target = op.target AND other.exclusive AND other.id <> op.id
              AND (other.status IN ('dispatched', 'running')
                   OR (other.status = 'queued'
                       AND (other.created_at, other.id) < (op.created_at, op.id)))))
   ORDER BY o.id
   LIMIT $1
   FOR UPDATE OF o SKIP LOCKED`;

/**
 * Moves outbox rows to the broker. Woken by NOTIFY, polling as a fallback; rows are
 * claimed with FOR UPDATE SKIP LOCKED so relays can run side by side, published with
 * confirms, and marked published in the same transaction. A row the broker did not take
 * stays in the outbox and is tried again later: an operation is never lost.
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
    private readonly amqp: AmqpChannels,
    @Inject(RELAY_CONFIG) private readonly config: RelayConfig,
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
      const rows: OutboxRow[] = await manager.query(CLAIM_OUTBOX_ROWS, [this.config.outboxBatch]);
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
          `outbox row ${row.id} (${row.kind} ${row.operation_id}) not published: ${reason}`,
        );
        await manager.query(
          `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                  available_at = now() + make_interval(secs => $3)
            WHERE id = $1`,
          [row.id, reason, retryDelaySeconds(row.attempts + 1)],
        );
      }
      if (published.length > 0) {
        // one round trip: the rows are done, and their operations are dispatched
        await manager.query(
          `WITH done AS (
             UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL
              WHERE id = ANY($1::bigint[])
           )
           UPDATE operations SET status = 'dispatched', dispatched_at = now(), updated_at = now()
            WHERE id = ANY($2::uuid[]) AND status = 'queued'`,
          [published, dispatched],
        );
      }
      return rows.length;
    });
  }

  /** Resolves true when published, false when there was nothing left to publish for it. */
  private async publishRow(row: OutboxRow): Promise<boolean> {
    if (row.kind === 'dispatch' && row.operation_status !== 'queued') {
      // cancelled (or otherwise moved on) before it reached the broker: nothing to run
      return false;
    }
    try {
      await this.publisher.publish(row.exchange, row.routing_key, encodeMessage(row.payload), {
        messageId: `outbox-${row.id}`,
        type: row.kind,
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
