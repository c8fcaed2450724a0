import { BeforeApplicationShutdown, Controller, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { OutgoingMessage, Redeliver, type AmqpContext } from '@app/amqp';
import type { ClaimMessage } from '@app/contracts';
import { OperationStateRepository } from '@app/database';
import { DatabaseRetry, isDataError } from './database-retry';
import { MessageSenders, ofAnotherPool, senderOf } from './message-senders';
import { MessageSigner } from './message-signer';
import { RelayMetrics } from './relay-metrics';
import { RelaySettings } from './relay.settings';

/**
 * The claims queue: a dispatcher asks before it runs anything, and the answer goes to its
 * own control queue (the claim's reply-to). A claim is taken only from the user of the
 * operation's pool, for the dispatcher that sent it; anything else is dead-lettered. While
 * PostgreSQL is away the claim waits; a claim the database refuses as data is dead-lettered.
 */
@Controller()
export class ClaimsController implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ClaimsController.name);
  private readonly retry: DatabaseRetry;

  constructor(
    private readonly state: OperationStateRepository,
    private readonly senders: MessageSenders,
    private readonly signer: MessageSigner,
    config: RelaySettings,
    private readonly metrics: RelayMetrics,
  ) {
    this.retry = new DatabaseRetry(config.databaseRetryMs, this.logger);
  }

  /**
   * A cancel that reached the database first always wins, and no operation runs twice. The
   * answer is signed for the dispatcher that asked, repeating its claim id.
   */
  @MessagePattern('claim')
  async claim(
    @Payload() claim: ClaimMessage,
    @Ctx() context: AmqpContext,
  ): Promise<OutgoingMessage> {
    const sender = senderOf(context);
    const replyTo = context.getMessage().properties.replyTo as string | undefined;
    const checked = this.senders.checkClaim(claim, sender, replyTo);
    if ('refused' in checked) {
      return this.senders.refuse('claim', claim.operationId, sender, checked.refused);
    }
    const { pool } = checked;
    let decision: Awaited<ReturnType<OperationStateRepository['decideClaim']>>;
    try {
      decision = await this.retry.run(
        'claim',
        () =>
          this.state.decideClaim(claim, pool, undefined, (started) =>
            this.metrics.started(started),
          ),
        { operationId: claim.operationId, dispatcherId: claim.dispatcherId },
      );
    } catch (error) {
      if (isDataError(error)) throw error;
      throw stopping();
    }
    if (decision.kind === 'another-pool') {
      const reason = ofAnotherPool(claim.operationId, decision, pool);
      return this.senders.refuse('claim', claim.operationId, sender, reason);
    }
    if (decision.granted) this.senders.claimed(claim, pool);
    const signed = this.signer.claimResult(decision, claim);
    return new OutgoingMessage(signed.body, decision.kind, signed.headers);
  }

  beforeApplicationShutdown(): void {
    this.retry.stop();
  }
}

function stopping(): Redeliver {
  return new Redeliver('the relay is stopping before the database answered');
}
