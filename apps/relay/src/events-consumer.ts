import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AmqpChannels, type Delivery, type QueueConsumer } from '@app/amqp';
import { decodeEvent, Queues, singleEvents, type EventMessage } from '@app/contracts';
import { DatabaseRetry, isDataError } from './database-retry';
import { storeEvents } from './event-writer';
import { isLineMessage } from './log-lines';
import { RELAY_CONFIG, type RelayConfig } from './relay.config';

/**
 * Consumes the events queue in batches and writes each batch in one transaction,
 * acking only after the commit. While PostgreSQL is away the batch is held (unacked) and
 * tried again; a message the database refuses as data is dead-lettered alone.
 */
@Injectable()
export class EventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EventsConsumer.name);
  private readonly retry: DatabaseRetry;
  private consumer?: QueueConsumer<EventMessage>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly amqp: AmqpChannels,
    @Inject(RELAY_CONFIG) private readonly config: RelayConfig,
  ) {
    this.retry = new DatabaseRetry(config.databaseRetryMs, this.logger);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.amqp.consumer<EventMessage>({
      queue: Queues.events,
      prefetch: this.config.eventsPrefetch,
      decode: decodeEvent,
    });
    this.consumer.startBatches(
      {
        maxBatch: this.config.eventsBatch,
        maxWaitMs: this.config.eventsBatchMs,
        lanes: this.config.eventsLanes,
        laneKey: (event) => (event.kind === 'heartbeat' ? undefined : event.operationId),
      },
      (batch) => this.write(batch),
    );
  }

  private async write(batch: Delivery<EventMessage>[]): Promise<void> {
    try {
      await this.retry.run('events batch', () =>
        storeEvents(this.dataSource, singleEvents(batch.map((delivery) => delivery.message))),
      );
      crashAfterCommitIfAsked(batch);
    } catch (error) {
      if (isDataError(error)) await this.writeOneByOne(batch);
      else for (const delivery of batch) delivery.requeue(); // stopping: another relay takes it
    }
  }

  /** Finds the messages the database refuses, and writes all the others. */
  private async writeOneByOne(batch: Delivery<EventMessage>[]): Promise<void> {
    for (const delivery of batch) {
      try {
        await this.retry.run('event', () =>
          storeEvents(this.dataSource, singleEvents([delivery.message])),
        );
      } catch (error) {
        if (isDataError(error)) {
          delivery.reject(`database refused the event: ${(error as Error).message}`);
        } else {
          delivery.requeue();
        }
      }
    }
  }

  /** See QueueConsumer.horizon: how far the relay is sure to have seen the events. */
  horizon(): ReturnType<QueueConsumer<EventMessage>['horizon']> {
    return this.consumer?.horizon();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.retry.stop();
    await this.consumer?.stop();
  }
}

/**
 * A failpoint for the fault suite: with AEGIR_FAILPOINT=relay-crash-after-commit the relay
 * dies (SIGKILL) right after committing the first batch that holds log lines, before it
 * acks: the broker delivers that batch again, and the writes must not duplicate a line.
 */
function crashAfterCommitIfAsked(batch: Delivery<EventMessage>[]): void {
  if (process.env.AEGIR_FAILPOINT !== 'relay-crash-after-commit') return;
  if (singleEvents(batch.map((delivery) => delivery.message)).some(isLineMessage))
    process.kill(process.pid, 'SIGKILL');
}
