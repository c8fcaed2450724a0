import { BaseRpcContext } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';

/** What a handler may ask of the delivery behind its payload (`@Ctx() context: AmqpContext`). */
export class AmqpContext extends BaseRpcContext<[ConsumeMessage, string, string]> {
  constructor(message: ConsumeMessage, queue: string, pattern: string) {
    super([message, queue, pattern]);
  }

  /** The delivery as amqplib gave it: properties, headers, redelivered flag. */
  getMessage(): ConsumeMessage {
    return this.args[0];
  }

  getQueue(): string {
    return this.args[1];
  }

  getPattern(): string {
    return this.args[2];
  }
}
