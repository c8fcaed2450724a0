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
  CONTRACT_VERSION,
  decodeClaim,
  encodeMessage,
  Queues,
  type ClaimMessage,
  type ClaimResultMessage,
} from '@app/contracts';
import { describeError } from '@app/platform';
import { DatabaseRetry, isDataError } from './database-retry';
import { updateReturning } from './sql';
import { RELAY_CONFIG, type RelayConfig } from './relay.config';

/**
 * Decides which dispatcher runs an operation. A claim is granted only while the
 * operation is still queued or dispatched (or already running on the same dispatcher,
 * when it asks again), in the same UPDATE that moves it to `running`: a cancel that got
 * to the database first always wins, and no operation runs twice.
 */
export async function decideClaim(
  manager: EntityManager,
  claim: ClaimMessage,
): Promise<ClaimResultMessage> {
  const granted = await updateReturning<{ id: string }>(
    manager,
    `UPDATE operations
        SET status = 'running', dispatcher_id = $2,
            started_at = COALESCE(started_at, now()), heartbeat_at = now()
      WHERE id = $1
        AND (status IN ('queued', 'dispatched') OR (status = 'running' AND dispatcher_id = $2))
      RETURNING id`,
    [claim.operationId, claim.dispatcherId],
  );
  const result = {
    v: CONTRACT_VERSION,
    kind: 'claim-result',
    operationId: claim.operationId,
  } as const;
  if (granted.length > 0) return { ...result, granted: true };
  const [row] = await manager.query<{ status: string; dispatcher_id: string | null }[]>(
    `SELECT status, dispatcher_id FROM operations WHERE id = $1`,
    [claim.operationId],
  );
  const reason = !row
    ? 'unknown operation'
    : row.status === 'running'
      ? `operation is running on dispatcher ${row.dispatcher_id ?? '(unknown)'}`
      : `operation is ${row.status}`;
  return { ...result, granted: false, reason };
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
