import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { CancelMessage, ClaimResultMessage, DispatchMessage } from '@app/contracts';
import { DispatchService } from './dispatch.service';

/** The pool queue (operations to run) and this dispatcher's control queue. */
@Controller()
export class DispatchController {
  constructor(private readonly dispatcher: DispatchService) {}

  /** Resolves, and so acks, once the operation runs here (or was refused or is a duplicate). */
  @EventPattern('dispatch')
  dispatch(@Payload() message: DispatchMessage): Promise<void> {
    return this.dispatcher.accept(message);
  }

  @EventPattern('cancel')
  cancel(@Payload() message: CancelMessage): void {
    this.dispatcher.cancel(message);
  }

  /** The relay's answer to a claim this dispatcher sent. */
  @EventPattern('claim-result')
  claimResult(@Payload() message: ClaimResultMessage): void {
    this.dispatcher.claimAnswered(message);
  }
}
