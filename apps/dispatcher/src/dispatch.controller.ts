import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type {
  SignedCancelMessage,
  SignedClaimResultMessage,
  SignedDispatchMessage,
} from '@app/contracts';
import { DispatchService } from './dispatch.service';

/**
 * The pool queue (operations to run) and this dispatcher's control queue. Every message
 * here was signed by the relay and checked by SignatureVerifier before it was parsed.
 */
@Controller()
export class DispatchController {
  constructor(private readonly dispatcher: DispatchService) {}

  /** Resolves, and so acks, once the operation runs here (or was refused or is a duplicate). */
  @EventPattern('dispatch')
  dispatch(@Payload() message: SignedDispatchMessage): Promise<void> {
    return this.dispatcher.accept(message);
  }

  @EventPattern('cancel')
  cancel(@Payload() message: SignedCancelMessage): void {
    this.dispatcher.cancel(message);
  }

  /** The relay's answer to a claim this dispatcher sent. */
  @EventPattern('claim-result')
  claimResult(@Payload() message: SignedClaimResultMessage): void {
    this.dispatcher.claimAnswered(message);
  }
}
