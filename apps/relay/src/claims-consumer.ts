import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AmqpChannels, type ConfirmedPublisher, type QueueConsumer } from '@app/amqp';
import {
  decodeClaim,
  encodeMessage,
  Queues,
  type ClaimMessage,
  type ClaimResultMessage,
} from '@app/contracts';
import { OperationStateRepository } from '@app/database';
import { describeError } from '@app/platform';
import { DatabaseRetry, isDataError } from './database-retry';
import { RELAY_CONFIG, type RelayConfig } from './relay.config';

/**
 * Decides which dispatcher runs an operation: see OperationStateRepository.decideClaim
 * (granted only while still queued or dispatched, or running on the same dispatcher; a
 * cancel that got to the database first always wins). Pass the injected repository as
 * `state`; the default is one on the manager's DataSource.
 */
export async function decideClaim(
  manager: EntityManager,
  claim: ClaimMessage,
  state = new OperationStateRepository(manager.connection),
): Promise<ClaimResultMessage> {
  return state.decideClaim(claim, manager);
}

@Injectable()
export class ClaimsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ClaimsConsumer.name);
  private consumer?: QueueConsumer<ClaimMessage>;
  private publisher!: ConfirmedPublisher;
  private readonly retry: DatabaseRetry;

  constructor(
    private readonly dataSource: DataSource,
    private readonly amqp: AmqpChannels,
    @Inject(RELAY_CONFIG) config: RelayConfig,
  ) {
    this.retry = new DatabaseRetry(config.databaseRetryMs, this.logger);
  }

  onApplicationBootstrap(): void {
    this.publisher = this.amqp.confirmedPublisher();
    this.consumer = this.amqp.consumer<ClaimMessage>({
      queue: Queues.claims,
      prefetch: 200,
      decode: decodeClaim,
    });
    this.consumer.startBatches({ maxBatch: 100, maxWaitMs: 1 }, async (batch) => {
      const results = await this.decide(batch.map(({ message }) => message));
      if (!results) {
        for (const delivery of batch) delivery.requeue(); // stopping: another relay answers
        return;
      }
      await Promise.all(batch.map(({ message }, index) => this.answer(message, results[index])));
    });
  }

  private async decide(claims: ClaimMessage[]): Promise<ClaimResultMessage[] | undefined> {
    try {
      // Each claim is decided by its own UPDATE, atomic alone: no transaction around them
      // (a BEGIN and a COMMIT would double the round trips of the usual one-claim batch).
      return await this.retry.run('claims', async () => {
        const decided: ClaimResultMessage[] = [];
        for (const claim of claims) decided.push(await decideClaim(this.dataSource.manager, claim));
        return decided;
      });
    } catch (error) {
      if (isDataError(error)) throw error; // dead-lettered with the reason
      return undefined;
    }
  }

  private async answer(claim: ClaimMessage, result: ClaimResultMessage): Promise<void> {
    try {
      // the default exchange routes straight to the claimant's own queue
      await this.publisher.publish('', claim.replyTo, encodeMessage(result), { type: result.kind });
    } catch (error) {
      // the claimant is gone; if it was granted, the lost-dispatcher check ends the operation
      this.logger.warn(
        `claim of ${claim.operationId} by ${claim.dispatcherId} not answered: ${describeError(error)}`,
      );
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.retry.stop();
    await this.consumer?.stop();
  }
}
