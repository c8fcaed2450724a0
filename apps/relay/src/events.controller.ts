import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type {
  EventsMessage,
  HeartbeatMessage,
  LinesMessage,
  LogMessage,
  StatusMessage,
} from '@app/contracts';
import { EventBatches } from './event-batches';

/**
 * The events queue: what dispatchers report. Every handler resolves when its event is
 * committed, and only then is the message acked.
 */
@Controller()
export class EventsController {
  constructor(private readonly batches: EventBatches) {}

  @EventPattern('lines')
  lines(@Payload() event: LinesMessage): Promise<void> {
    return this.batches.add(event);
  }

  /** The form of lines before `lines`: kept so that dispatchers of an older release still report. */
  @EventPattern('log')
  log(@Payload() event: LogMessage): Promise<void> {
    return this.batches.add(event);
  }

  @EventPattern('status')
  status(@Payload() event: StatusMessage): Promise<void> {
    return this.batches.add(event);
  }

  @EventPattern('heartbeat')
  heartbeat(@Payload() event: HeartbeatMessage): Promise<void> {
    return this.batches.add(event);
  }

  /** Lines and statuses of one operation, in order, sent together while a confirm was awaited. */
  @EventPattern('events')
  events(@Payload() group: EventsMessage): Promise<void> {
    return this.batches.add(group);
  }
}
