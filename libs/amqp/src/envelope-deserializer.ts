import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import type { Decoded } from '@app/contracts';

/** The body is not a message this queue takes; `reason` says why, for the dead-letter header. */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
}

/**
 * Reads a message off one queue: the versioned envelope, validated by the contract's decoder
 * for that queue; its `kind` is the pattern the handlers are chosen by.
 */
export class EnvelopeDeserializer<T extends { kind: string }> implements ConsumerDeserializer {
  constructor(private readonly decode: (body: Buffer, raw: ConsumeMessage) => Decoded<T>) {}

  deserialize(body: Buffer, raw: ConsumeMessage): IncomingEvent & { data: T } {
    const decoded = this.decode(body, raw);
    if (!decoded.ok) throw new InvalidMessageError(decoded.reason);
    return { pattern: decoded.message.kind, data: decoded.message };
  }
}
