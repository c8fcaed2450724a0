import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OperationStateRepository } from '@app/database';
import { LaneBatcher, Redeliver, Refuse, type BatchEntry } from '@app/amqp';
import { singleEvents, type EventMessage } from '@app/contracts';
import { DatabaseRetry, isDataError } from './database-retry';
import { storeEvents } from './event-writer';
import { isLineMessage } from './log-lines';
import { RelayMetrics } from './relay-metrics';
import { RelaySettings } from './relay.settings';

/**
 * Gathers events into batches, in lanes, and writes each batch in one transaction. An event's
 * `add()` resolves at its batch's commit, so its message is acked only then. While PostgreSQL
 * is away the batch is held and tried again; an event the database refuses as data fails
 * alone (and is dead-lettered), the rest of its batch is written.
 */
@Injectable()
export class EventBatches implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(EventBatches.name);
  private readonly retry: DatabaseRetry;
  private readonly batcher: LaneBatcher<EventMessage>;
  /** After which a dispatcher not heard from is shown silent: the lost sweeper's horizon. */
  private readonly silenceSeconds: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly state: OperationStateRepository,
    config: RelaySettings,
    private readonly metrics: RelayMetrics,
  ) {
    this.retry = new DatabaseRetry(config.databaseRetryMs, this.logger);
    this.silenceSeconds = config.lostAfterMs / 1000;
    this.batcher = new LaneBatcher<EventMessage>(
      {
        maxBatch: config.eventsBatch,
        maxWaitMs: config.eventsBatchMs,
        lanes: config.eventsLanes,
        // an operation's events always take the same lane, so they are written in order
        laneKey: (event) => (event.kind === 'heartbeat' ? undefined : event.operationId),
      },
      (batch) => this.write(batch),
    );
  }

  /** Resolves once the event is committed. */
  add(event: EventMessage): Promise<void> {
    return this.batcher.add(event);
  }

  private async write(batch: BatchEntry<EventMessage>[]): Promise<void> {
    const written = this.metrics.batchStarted();
    try {
      const events = eventsOf(batch);
      const ended = await this.retry.run('events batch', () =>
        storeEvents(this.dataSource, events, this.state, this.silenceSeconds),
      );
      written();
      this.metrics.batchCommitted(events, batch.length, ended);
      crashAfterCommitIfAsked(batch);
    } catch (error) {
      if (isDataError(error)) await this.writeOneByOne(batch);
      else for (const entry of batch) entry.fail(stopping()); // another relay takes it
    } finally {
      written();
    }
  }

  /** Finds the events the database refuses, and writes all the others. */
  private async writeOneByOne(batch: BatchEntry<EventMessage>[]): Promise<void> {
    for (const entry of batch) {
      try {
        const events = eventsOf([entry]);
        const ended = await this.retry.run('event', () =>
          storeEvents(this.dataSource, events, this.state, this.silenceSeconds),
        );
        this.metrics.batchCommitted(events, 1, ended);
      } catch (error) {
        entry.fail(
          isDataError(error)
            ? new Refuse(`database refused the event: ${(error as Error).message}`)
            : stopping(),
        );
      }
    }
  }

  /** Stop waiting for PostgreSQL: a batch that cannot be written now goes back to the queue. */
  beforeApplicationShutdown(): void {
    this.retry.stop();
  }

  /** The transport has drained by now: nothing is pending. */
  async onApplicationShutdown(): Promise<void> {
    await this.batcher.close();
  }
}

function eventsOf(batch: BatchEntry<EventMessage>[]) {
  return singleEvents(batch.map((entry) => entry.value));
}

function stopping(): Redeliver {
  return new Redeliver('the relay is stopping before the database answered');
}

/**
 * A failpoint for the fault suite: with AEGIR_FAILPOINT=relay-crash-after-commit the relay
 * dies (SIGKILL) right after committing the first batch that holds log lines, before it
 * acks: the broker delivers that batch again, and the writes must not duplicate a line.
 */
function crashAfterCommitIfAsked(batch: BatchEntry<EventMessage>[]): void {
  if (process.env.AEGIR_FAILPOINT !== 'relay-crash-after-commit') return;
  if (eventsOf(batch).some(isLineMessage)) process.kill(process.pid, 'SIGKILL');
}
