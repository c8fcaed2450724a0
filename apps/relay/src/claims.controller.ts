import { BeforeApplicationShutdown, Controller, Inject, Logger } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { DataSource, type EntityManager } from 'typeorm';
import { Redeliver } from '@app/amqp';
import { CONTRACT_VERSION, type ClaimMessage, type ClaimResultMessage } from '@app/contracts';
import { DatabaseRetry, isDataError } from './database-retry';
import { RELAY_CONFIG, type RelayConfig } from './relay.config';
import { updateReturning } from './sql';

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

/**
 * The claims queue: a dispatcher asks before it runs anything, and the answer goes to its
 * own control queue (the claim's reply-to). While PostgreSQL is away the claim waits; a
 * claim the database refuses as data is dead-lettered.
 */
@Controller()
export class ClaimsController implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ClaimsController.name);
  private readonly retry: DatabaseRetry;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RELAY_CONFIG) config: RelayConfig,
  ) {
    this.retry = new DatabaseRetry(config.databaseRetryMs, this.logger);
  }

  // Each claim is decided by its own UPDATE, atomic alone: no transaction around it.
  @MessagePattern('claim')
  async claim(@Payload() claim: ClaimMessage): Promise<ClaimResultMessage> {
    try {
      return await this.retry.run('claim', () => decideClaim(this.dataSource.manager, claim));
    } catch (error) {
      if (isDataError(error)) throw error;
      throw new Redeliver('the relay is stopping before the database answered');
    }
  }

  beforeApplicationShutdown(): void {
    this.retry.stop();
  }
}
