import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { AmqpContext } from '@app/amqp';
import type {
  EventMessage,
  EventsMessage,
  HeartbeatMessage,
  LinesMessage,
  LogMessage,
  StatusMessage,
} from '@app/contracts';
import { EventBatches } from './event-batches';
import { MessageSenders, senderOf, type Verdict } from './message-senders';

/**
 * The events queue: what dispatchers report. Each event is taken only from its operation's
 * pool user and claim holder (MessageSenders; anything else is dead-lettered with the
 * reason). Every handler resolves when its event is committed, and only then is the
 * message acked.
 */
@Controller()
export class EventsController {
  constructor(
    private readonly batches: EventBatches,
    private readonly senders: MessageSenders,
  ) {}

  @EventPattern('lines')
  lines(@Payload() event: LinesMessage, @Ctx() context: AmqpContext): Promise<void> {
    return this.accept(event, context);
  }

  /** The form of lines before `lines`: kept so that dispatchers of an older release still report. */
  @EventPattern('log')
  log(@Payload() event: LogMessage, @Ctx() context: AmqpContext): Promise<void> {
    return this.accept(event, context);
  }

  @EventPattern('status')
  status(@Payload() event: StatusMessage, @Ctx() context: AmqpContext): Promise<void> {
    return this.accept(event, context);
  }

  @EventPattern('heartbeat')
  heartbeat(@Payload() event: HeartbeatMessage, @Ctx() context: AmqpContext): Promise<void> {
    return this.accept(event, context);
  }

  /** Lines and statuses of one operation, in order, sent together while a confirm was awaited. */
  @EventPattern('events')
  events(@Payload() group: EventsMessage, @Ctx() context: AmqpContext): Promise<void> {
    return this.accept(group, context);
  }

  /**
   * A known sender's event is handed to its batch synchronously, so events of an operation
   * keep their order; only the first ones of an operation wait for its owner to be read.
   */
  private accept(event: EventMessage, context: AmqpContext): Promise<void> {
    const sender = senderOf(context);
    const settle = (verdict: Verdict): Promise<void> =>
      verdict === undefined
        ? this.batches.add(event)
        : this.senders.refuse(
            event.kind,
            event.kind === 'heartbeat' ? null : event.operationId,
            sender,
            verdict,
          );
    const verdict = this.senders.checkEvent(event, sender);
    return verdict instanceof Promise ? verdict.then(settle) : settle(verdict);
  }
}
