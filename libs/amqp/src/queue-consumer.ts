import { Logger } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import {
  DEAD_LETTER_EXCHANGE_HEADER,
  DEAD_LETTER_QUEUE_HEADER,
  DEAD_LETTER_REASON_HEADER,
  Exchanges,
  type Decoded,
} from '@app/contracts';
import { logEntry, type LogFields } from '@app/platform';
import type { ConfirmedPublisher } from './confirmed-publisher';

/** One delivery, decoded, with the channel it arrived on (acks must go back there). */
export interface Delivery<T> {
  message: T;
  raw: ConsumeMessage;
  channel: ConfirmChannel;
  /** Dead-letter this delivery with a reason instead of acking it. */
  reject(reason: string): void;
  /** Give it back to the queue (for another consumer, or later) instead of acking it. */
  requeue(): void;
}

export interface ConsumerOptions<T> {
  queue: string;
  prefetch: number;
  /** `raw` gives the headers and the redelivered flag, e.g. for a signature check. */
  decode: (body: Buffer, raw: ConsumeMessage) => Decoded<T>;
  /** Assert the queue (e.g. an exclusive server-named one) and return its name. */
  assertQueue?: (channel: ConfirmChannel) => Promise<string>;
  /** What a decoded message is about (its operation), for the log line of its dead letter. */
  logFields?: (message: T) => LogFields;
}

/** Where a consumer stands: see QueueConsumer.horizon. */
export interface ConsumerHorizon {
  seenUntil: number;
  connectedSince: number;
  /** No delivery in hand (seenUntil is now): what still waits in the queue, `ready()` tells. */
  idle: boolean;
}

type ChannelFactory = (setup: (channel: ConfirmChannel) => Promise<void>) => ChannelWrapper;

/**
 * Consumes a queue with manual acks, each delivery handled on its own, up to `prefetch` at
 * once, and acked when its handler resolves. Messages that fail to decode are dead-lettered
 * at once with their reason; a handler that throws gets its message dead-lettered too, so
 * nothing is requeued forever and a bad message never stalls the queue. A handler that
 * must wait (a database outage) simply does not return: the message stays unacked.
 */
export class QueueConsumer<T> {
  private readonly logger: Logger;
  private channelWrapper?: ChannelWrapper;
  private consumerTag?: { channel: ConfirmChannel; tag: string };
  private stopping = false;
  private inFlight = 0;
  private idle?: () => void;
  private connectedSince?: number;
  private drainedAt?: number;

  constructor(
    private readonly createChannel: ChannelFactory,
    private readonly deadLetters: ConfirmedPublisher,
    private readonly options: ConsumerOptions<T>,
    /** Told of every message this consumer dead-letters (the apps count them). */
    private readonly onDeadLetter: (queue: string) => void = () => undefined,
  ) {
    this.logger = new Logger(`QueueConsumer(${options.queue})`);
  }

  get queue(): string {
    return this.options.queue;
  }

  /** Whether the broker has this consumer registered now (false between a drop and the reconnect). */
  get consuming(): boolean {
    return this.connectedSince !== undefined;
  }

  /** Starts consuming; resolves once the broker has registered the consumer. */
  async start(handler: (delivery: Delivery<T>) => Promise<void>): Promise<void> {
    this.channelWrapper = this.createChannel(async (channel) => {
      channel.once('close', () => {
        closedChannels.add(channel);
        this.connectedSince = undefined;
      });
      await channel.prefetch(this.options.prefetch);
      const queue = this.options.assertQueue
        ? await this.options.assertQueue(channel)
        : this.options.queue;
      const { consumerTag } = await channel.consume(queue, (raw) => {
        if (!raw) return; // the broker cancelled the consumer; the wrapper reconnects
        void this.track(() => this.receive(channel, raw, handler));
      });
      this.consumerTag = { channel, tag: consumerTag };
      this.connectedSince = Date.now();
    });
    await this.channelWrapper.waitForConnect();
  }

  /**
   * Up to when this consumer has seen everything published to its queue, and since when
   * it has been connected; undefined while it is not consuming. With no delivery in hand
   * that is now; a consumer still working through a backlog answers with the last time it
   * had none.
   */
  horizon(): ConsumerHorizon | undefined {
    if (this.connectedSince === undefined) return undefined;
    const idle = this.inFlight === 0;
    const seenUntil = idle ? Date.now() : this.drainedAt;
    return seenUntil === undefined
      ? undefined
      : { seenUntil, connectedSince: this.connectedSince, idle };
  }

  /**
   * Messages waiting in the queue, not yet delivered: none in hand does not mean none left,
   * between a batch's acks and the broker's next deliveries.
   */
  async ready(): Promise<number | undefined> {
    if (!this.channelWrapper || this.connectedSince === undefined) return undefined;
    try {
      return (await this.channelWrapper.checkQueue(this.options.queue)).messageCount;
    } catch {
      return undefined;
    }
  }

  private async receive(
    channel: ConfirmChannel,
    raw: ConsumeMessage,
    handler: (delivery: Delivery<T>) => Promise<void>,
  ): Promise<void> {
    if (this.stopping) return; // left unacked: the broker hands it out again after close
    const decoded = this.options.decode(raw.content, raw);
    if (!decoded.ok) {
      await this.deadLetter(channel, raw, decoded.reason);
      return;
    }
    const delivery = new PendingDelivery(decoded.message, raw, channel);
    try {
      await handler(delivery);
    } catch (error) {
      delivery.reject(`handler failed: ${describe(error)}`);
    }
    await this.settle(delivery);
  }

  private async settle(delivery: PendingDelivery<T>): Promise<void> {
    if (delivery.requeued) {
      safely(() => delivery.channel.nack(delivery.raw, false, true));
    } else if (delivery.rejection !== undefined) {
      const about = this.options.logFields?.(delivery.message);
      await this.deadLetter(delivery.channel, delivery.raw, delivery.rejection, about);
    } else {
      safely(() => delivery.channel.ack(delivery.raw));
    }
  }

  /** Republish with the reason in a header, then ack; if that fails, let the broker dead-letter it. */
  private async deadLetter(
    channel: ConfirmChannel,
    raw: ConsumeMessage,
    reason: string,
    about: LogFields = {},
  ) {
    this.logger.warn(
      logEntry(`dead-lettering message ${raw.properties.messageId ?? ''}: ${reason}`, about),
    );
    this.onDeadLetter(this.options.queue);
    try {
      await this.deadLetters.publish(Exchanges.deadLetter, raw.fields.routingKey, raw.content, {
        messageId: raw.properties.messageId as string | undefined,
        type: raw.properties.type as string | undefined,
        headers: {
          ...(raw.properties.headers ?? {}),
          [DEAD_LETTER_REASON_HEADER]: reason,
          [DEAD_LETTER_QUEUE_HEADER]: this.options.queue,
          [DEAD_LETTER_EXCHANGE_HEADER]: raw.fields.exchange,
        },
      });
      safely(() => channel.ack(raw));
    } catch (error) {
      this.logger.error(
        logEntry(`could not dead-letter with a reason (${describe(error)}); nacking`, about),
      );
      safely(() => channel.nack(raw, false, false));
    }
  }

  private async track(work: () => Promise<void>): Promise<void> {
    this.inFlight++;
    try {
      await work();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) {
        this.drainedAt = Date.now();
        this.idle?.();
      }
    }
  }

  /** Stops taking deliveries, lets the work in hand finish (its acks included), closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    // Cancel only after the acks: a quorum queue applies the acks sent before a cancel
    // before it answers, whereas acks it still buffers when the channel closes are lost
    // and their messages delivered again.
    if (this.consumerTag && isOpen(this.consumerTag.channel)) {
      await this.consumerTag.channel.cancel(this.consumerTag.tag).catch(() => undefined);
    }
    await this.channelWrapper?.close();
  }
}

class PendingDelivery<T> implements Delivery<T> {
  rejection?: string;
  requeued = false;
  constructor(
    readonly message: T,
    readonly raw: ConsumeMessage,
    readonly channel: ConfirmChannel,
  ) {}
  reject(reason: string): void {
    this.rejection = reason;
  }
  requeue(): void {
    this.requeued = true;
  }
}

/** Channels that closed: their unacked deliveries come again on the next channel. */
const closedChannels = new WeakSet<ConfirmChannel>();

function isOpen(channel: ConfirmChannel): boolean {
  return !closedChannels.has(channel);
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // the channel closed: the broker requeues the message and it is handled again
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
