import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AmqpTransport } from '@app/amqp';
import { Queues } from '@app/contracts';
import { ConflictError, LOG_CHANNEL, OperationStore, OUTBOX_CHANNEL } from '@app/database';
import { describeError } from '@app/platform';
import { RELAY_CONFIG, type RelayConfig } from './relay.config';
import { updateReturning } from './sql';

/**
 * Ends operations whose dispatcher went silent: `running` with no heartbeat for longer
 * than the limit becomes `lost`, with the reason, and so do its unfinished tasks. Nothing
 * is run again silently: only a type whose catalogue entry asks for retries on `lost`
 * gets a new attempt, after its backoff, up to its number of attempts.
 */
@Injectable()
export class LostSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(LostSweeper.name);
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: OperationStore,
    private readonly transport: AmqpTransport,
    @Inject(RELAY_CONFIG) private readonly config: RelayConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error) => this.logger.warn(`lost check failed: ${describeError(error)}`))
        .finally(() => (this.sweeping = undefined));
    }, this.config.lostCheckMs);
  }

  async sweep(): Promise<void> {
    const seenUntil = this.judgeableUntil();
    const lost = seenUntil === undefined ? [] : await this.markLost(seenUntil);
    for (const { id, reason } of lost) this.logger.warn(`operation ${id} lost: ${reason}`);
    await this.retryLost();
  }

  /**
   * Silence can only be judged on events the relay has seen: not while it works through a
   * backlog (after its own restart, or while PostgreSQL was away: the heartbeats are in
   * the queue, not yet in the database), and not until it has been connected to the
   * broker for the whole limit (after a broker restart, dispatchers need time to speak).
   */
  private judgeableUntil(): Date | undefined {
    const horizon = this.transport.horizon(Queues.events);
    if (!horizon) return undefined;
    if (horizon.seenUntil - horizon.connectedSince < this.config.lostAfterMs) return undefined;
    return new Date(horizon.seenUntil);
  }

  private async markLost(seenUntil: Date): Promise<{ id: string; reason: string }[]> {
    const seconds = this.config.lostAfterMs / 1000;
    return this.dataSource.transaction(async (manager) => {
      const rows = await updateReturning<{ id: string; reason: string }>(
        manager,
        `UPDATE operations
            SET status = 'lost', finished_at = now(),
                reason = format('dispatcher %s silent for more than %s s',
                                COALESCE(dispatcher_id, '(unknown)'), $1::text)
          WHERE status = 'running'
            AND COALESCE(heartbeat_at, started_at, updated_at) < $2::timestamptz - make_interval(secs => $1)
          RETURNING id, reason`,
        [seconds, seenUntil],
      );
      if (rows.length === 0) return rows;
      const ids = rows.map((row) => row.id);
      await manager.query(
        `UPDATE tasks SET status = 'lost', finished_at = now(), reason = 'operation lost'
          WHERE operation_id = ANY($1::uuid[])
            AND status IN ('queued', 'dispatched', 'running')`,
        [ids],
      );
      await manager.query(`SELECT pg_notify($1, id::text) FROM unnest($2::uuid[]) AS id`, [
        LOG_CHANNEL,
        ids,
      ]);
      await manager.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
      return rows;
    });
  }

  /** A new attempt for each lost operation whose type retries on `lost` and has attempts left. */
  private async retryLost(): Promise<void> {
    const due: { id: string; backoff: number }[] = await this.dataSource.query(
      `SELECT o.id, o.retry_backoff_seconds AS backoff FROM operations o
        WHERE o.status = 'lost' AND o.attempt <= o.retry_limit
          AND NOT EXISTS (SELECT 1 FROM operations r WHERE r.retry_of = o.id)
        ORDER BY o.finished_at
        LIMIT 100`,
    );
    for (const { id, backoff } of due) {
      try {
        const retry = await this.store.retry(id, { delaySeconds: backoff });
        if (retry)
          this.logger.log(
            `operation ${id} lost: retrying as ${retry.id} (attempt ${retry.attempt})`,
          );
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error; // another relay was first
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }
}
