import { randomUUID } from 'node:crypto';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, Message } from 'amqplib';

export class PublishError extends Error {
  constructor(
    message: string,
    readonly exchange: string,
    readonly routingKey: string,
    /** The broker took it but had no queue to route it to. */
    readonly unroutable = false,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

export interface PublishOptions {
  messageId?: string;
  type?: string;
  headers?: Record<string, unknown>;
  /** Where the receiver sends its answer (a queue name, on the default exchange). */
  replyTo?: string;
  correlationId?: string;
  timeoutMs?: number;
}

type ChannelFactory = (setup: (channel: ConfirmChannel) => Promise<void>) => ChannelWrapper;

/** Who sends: set on every message this publisher sends. */
export interface SenderIdentity {
  /** AMQP `user_id`: the broker refuses it unless it is the connection's own user. */
  userId?: string;
  /** AMQP `app_id`: a dispatcher's DISPATCHER_ID (the broker does not check it). */
  appId?: string;
}

/**
 * Publishes persistent, mandatory messages and resolves only on the broker's confirm.
 * A message the broker returns (no queue bound for its routing key), nacks, or does not
 * confirm within the timeout is a failure: the caller keeps it and tries again.
 */
export class ConfirmedPublisher {
  private readonly channel: ChannelWrapper;
  /** messageIds the broker returned; read once the confirm for that message arrives. */
  private readonly returned = new Set<string>();

  constructor(
    createChannel: ChannelFactory,
    private readonly defaultTimeoutMs: number,
    private readonly sender: SenderIdentity = {},
  ) {
    this.channel = createChannel(async (channel) => {
      channel.on('return', (message: Message) => {
        const id = message.properties.messageId as string | undefined;
        if (id) this.returned.add(id);
      });
    });
  }

  async publish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: PublishOptions = {},
  ): Promise<void> {
    const messageId = options.messageId ?? randomUUID();
    try {
      await this.channel.publish(exchange, routingKey, body, {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        messageId,
        type: options.type,
        headers: options.headers,
        replyTo: options.replyTo,
        correlationId: options.correlationId,
        userId: this.sender.userId,
        appId: this.sender.appId,
        timeout: options.timeoutMs ?? this.defaultTimeoutMs,
      });
    } catch (error) {
      this.returned.delete(messageId);
      const reason = error instanceof Error ? error.message : String(error);
      throw new PublishError(
        reason === 'timeout'
          ? `broker did not confirm within ${options.timeoutMs ?? this.defaultTimeoutMs} ms`
          : `broker refused the message: ${reason}`,
        exchange,
        routingKey,
      );
    }
    // RabbitMQ sends basic.return before the confirm of an unroutable mandatory message.
    if (this.returned.delete(messageId)) {
      throw new PublishError(
        `no queue is bound to ${exchange} for routing key "${routingKey}"`,
        exchange,
        routingKey,
        true,
      );
    }
  }

  async close(): Promise<void> {
    await this.channel.close();
  }
}
