import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { AmqpTransport } from '@app/amqp';
import { Queues } from '@app/contracts';
import { ConflictError, OperationStateRepository } from '@app/database';
import { describeError, logEntry } from '@app/platform';
import { RelayMetrics } from './relay-metrics';
import { RelaySettings } from './relay.settings';

/**
 * Ends operations whose dispatcher went silent: `running` with no heartbeat for longer
 * than the limit becomes `lost`, with the reason, and so do its unfinished tasks; so does a
 * `dispatched` one whose signed dispatch expired before any dispatcher took it. Nothing
 * is run again silently: only a type whose catalogue entry asks for retries on `lost`
 * gets a new attempt, after its backoff, up to its number of attempts.
 */
@Injectable()
export class LostSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(LostSweeper.name);
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly state: OperationStateRepository,
    private readonly transport: AmqpTransport,
    private readonly config: RelaySettings,
    private readonly metrics: RelayMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error) => this.logger.warn(`lost check failed: ${describeError(error)}`))
        .finally(() => (this.sweeping = undefined));
    }, this.config.lostCheckMs);
  }

  async sweep(): Promise<void> {
    const seenUntil = await this.judgeableUntil();
    const lost =
      seenUntil === undefined
        ? []
        : [
            ...(await this.state.markLost(seenUntil, this.config.lostAfterMs / 1000)),
            ...(await this.state.expireDispatched(
              seenUntil,
              this.config.dispatchTtlMs / 1000,
              this.config.lostAfterMs / 1000,
            )),
          ];
    // a dispatcher silent this long holds nothing still valid: every dispatch it might have
    // been handed has expired; restarted with a new DISPATCHER_ID, it is a new row
    if (seenUntil !== undefined) {
      await this.state.forgetDispatchers(seenUntil, this.config.dispatchTtlMs / 1000);
    }
    this.metrics.lost(lost);
    for (const { id, reason } of lost) {
      this.logger.warn(logEntry(`operation ${id} lost: ${reason}`, { operationId: id }));
    }
    await this.retryLost();
  }

  /**
   * Silence can only be judged on events the relay has seen: not while it works through a
   * backlog (after its own restart, or while PostgreSQL was away: the heartbeats are in
   * the queue, not yet in the database), and not until it has been connected to the
   * broker for the whole limit (after a broker restart, dispatchers need time to speak).
   */
  private async judgeableUntil(): Promise<Date | undefined> {
    const horizon = this.transport.horizon(Queues.events);
    if (!horizon) return undefined;
    if (horizon.seenUntil - horizon.connectedSince < this.config.lostAfterMs) return undefined;
    // Heartbeats may still wait in the queue, published before the horizon yet not delivered:
    // between a backlog's batches, or behind the batch in hand once PostgreSQL is back.
    if ((await this.transport.ready(Queues.events)) !== 0) return undefined;
    return new Date(horizon.seenUntil);
  }

  /** A new attempt for each lost operation whose type retries on `lost` and has attempts left. */
  private async retryLost(): Promise<void> {
    for (const { id, backoffSeconds } of await this.state.lostDueForRetry()) {
      try {
        const retry = await this.state.retry(id, { delaySeconds: backoffSeconds, actor: 'relay' });
        if (retry) {
          this.logger.log(
            logEntry(`operation ${id} lost: retrying as ${retry.id} (attempt ${retry.attempt})`, {
              operationId: id,
            }),
          );
        }
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
