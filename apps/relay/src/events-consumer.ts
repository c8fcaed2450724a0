import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AmqpChannels, type Delivery, type QueueConsumer } from '@app/amqp';
import { brokerTopology, decodeEvent, Queues, type EventMessage } from '@app/contracts';
import { writeEvents } from './event-writer';
import { RELAY_CONFIG, type RelayConfig } from './relay.config';

/** SQLSTATE classes that say the data is wrong (not the database): retrying cannot help. */
const DATA_ERROR_CLASSES = ['22', '23'];

function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && DATA_ERROR_CLASSES.includes(code.slice(0, 2));
}

/**
 * Consumes the events queue in batches and writes each batch in one transaction,
 * acking only after the commit. While PostgreSQL is away the batch is held (unacked) and
 * tried again; a message the database refuses as data is dead-lettered alone.
 */
@Injectable()
export class EventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EventsConsumer.name);
  private consumer?: QueueConsumer<EventMessage>;
  private stopping = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly amqp: AmqpChannels,
    @Inject(RELAY_CONFIG) private readonly config: RelayConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.amqp.declare(brokerTopology([]));
    this.consumer = this.amqp.consumer<EventMessage>({
      queue: Queues.events,
      prefetch: this.config.eventsPrefetch,
      decode: decodeEvent,
    });
    this.consumer.startBatches(
      { maxBatch: this.config.eventsBatch, maxWaitMs: this.config.eventsBatchMs },
      (batch) => this.write(batch),
    );
  }

  private async write(batch: Delivery<EventMessage>[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dataSource.transaction((manager) =>
          writeEvents(
            manager,
            batch.map((delivery) => delivery.message),
          ),
        );
        return;
      } catch (error) {
        if (isDataError(error)) {
          await this.writeOneByOne(batch);
          return;
        }
        if (this.stopping) throw error;
        if (attempt === 1 || attempt % 30 === 0) {
          this.logger.warn(
            `events batch not written (attempt ${attempt}), holding it: ${String(error)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, this.config.databaseRetryMs));
      }
    }
  }

  private async writeOneByOne(batch: Delivery<EventMessage>[]): Promise<void> {
    for (const delivery of batch) {
      try {
        await this.dataSource.transaction((manager) => writeEvents(manager, [delivery.message]));
      } catch (error) {
        if (!isDataError(error)) throw error;
        delivery.reject(`database refused the event: ${(error as Error).message}`);
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.consumer?.stop();
  }
}
