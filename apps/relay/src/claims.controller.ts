import { BeforeApplicationShutdown, Controller, Logger } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Redeliver } from '@app/amqp';
import type { ClaimMessage, ClaimResultMessage } from '@app/contracts';
import { OperationStateRepository } from '@app/database';
import { DatabaseRetry, isDataError } from './database-retry';
import { RelaySettings } from './relay.settings';

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
    private readonly state: OperationStateRepository,
    config: RelaySettings,
  ) {
    this.retry = new DatabaseRetry(config.databaseRetryMs, this.logger);
  }

  /** A cancel that reached the database first always wins, and no operation runs twice. */
  @MessagePattern('claim')
  async claim(@Payload() claim: ClaimMessage): Promise<ClaimResultMessage> {
    try {
      return await this.retry.run('claim', () => this.state.decideClaim(claim));
    } catch (error) {
      if (isDataError(error)) throw error;
      throw new Redeliver('the relay is stopping before the database answered');
    }
  }

  beforeApplicationShutdown(): void {
    this.retry.stop();
  }
}
