import { Logger } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import {
  DEAD_LETTER_QUEUE_HEADER,
  DEAD_LETTER_REASON_HEADER,
  Exchanges,
  type Decoded,
} from '@app/contracts';
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
  decode: (body: Buffer) => Decoded<T>;
  /** Assert the queue (e.g. an exclusive server-named one) and return its name. */
  assertQueue?: (channel: ConfirmChannel) => Promise<string>;
}

export interface BatchOptions<T> {
  maxBatch: number;
  maxWaitMs: number;
  /**
   * Batches handled at once (default 1), each lane one batch at a time. Messages with the
   * same `laneKey` always take the same lane, so they are handled in delivery order.
   */
  lanes?: number;
  laneKey?: (message: T) => string | undefined;
}

/** Deliveries waiting for one lane's next batch. */
interface Lane<T> {
  pending: Delivery<T>[];
  wake?: () => void;
  /** Since when the lane has been idle with nothing pending. */
  waitingSince?: number;
  /** A batch of this lane is being handled. */
  busy: boolean;
}

type ChannelFactory = (setup: (channel: ConfirmChannel) => Promise<void>) => ChannelWrapper;

/**
 * Consumes a queue with manual acks. Messages that fail to decode are dead-lettered at
 * once with their reason; a handler that throws gets its message dead-lettered too, so
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
  private lanes: Lane<T>[] = [];
  private connectedSince?: number;
  private drainedAt?: number;

  constructor(
    private readonly createChannel: ChannelFactory,
    private readonly deadLetters: ConfirmedPublisher,
    private readonly options: ConsumerOptions<T>,
  ) {
    this.logger = new Logger(`QueueConsumer(${options.queue})`);
  }

  /** Each delivery is handled on its own, up to `prefetch` at once; acked when the handler resolves. */
  start(handler: (delivery: Delivery<T>) => Promise<void>): void {
    this.open((delivery) => {
      void this.track(async () => {
        try {
          await handler(delivery);
        } catch (error) {
          delivery.reject(`handler failed: ${describe(error)}`);
        }
        await this.settle([delivery]);
      });
    });
  }

  /**
   * Deliveries are handed over in batches, in delivery order: one batch at a time, or one per
   * lane at a time with `lanes` (messages of the same `laneKey` keep their order).
   */
  startBatches(options: BatchOptions<T>, handler: (batch: Delivery<T>[]) => Promise<void>): void {
    const count = Math.max(1, options.lanes ?? 1);
    this.lanes = Array.from({ length: count }, () => ({ pending: [], busy: false }));
    this.open((delivery) => {
      const key = count > 1 ? options.laneKey?.(delivery.message) : undefined;
      const lane = this.lanes[key === undefined ? 0 : laneOf(key, count)];
      lane.pending.push(delivery);
      lane.wake?.();
    });
    for (const lane of this.lanes) void this.track(() => this.batchLoop(lane, options, handler));
  }

  private async batchLoop(
    lane: Lane<T>,
    options: BatchOptions<T>,
    handler: (batch: Delivery<T>[]) => Promise<void>,
  ): Promise<void> {
    while (!this.stopping) {
      if (lane.pending.length === 0) {
        lane.waitingSince = Date.now();
        await new Promise<void>((resolve) => (lane.wake = resolve));
        lane.waitingSince = undefined;
        lane.wake = undefined;
        continue;
      }
      if (lane.pending.length < options.maxBatch) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.maxWaitMs);
          lane.wake = () => {
            if (lane.pending.length >= options.maxBatch) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
        lane.wake = undefined;
      }
      const batch = lane.pending.splice(0, options.maxBatch).filter((d) => isOpen(d.channel));
      if (batch.length === 0) continue;
      lane.busy = true;
      try {
        await handler(batch);
      } catch (error) {
        const reason = `handler failed: ${describe(error)}`;
        for (const delivery of batch) delivery.reject(reason);
      }
      await this.settle(batch);
      lane.busy = false;
      // Fewer than a full batch, nothing more delivered, no other batch in hand: every
      // delivery so far is handled, and the queue was drained just now.
      if (
        batch.length < options.maxBatch &&
        this.lanes.every((other) => other.pending.length === 0 && !other.busy)
      ) {
        this.drainedAt = Date.now();
      }
    }
  }

  /**
   * Up to when this consumer has seen everything published to its queue, and since when
   * it has been connected; undefined while it is not consuming. A consumer still working
   * through a backlog answers with the last time it had drained the queue.
   */
  horizon(): { seenUntil: number; connectedSince: number } | undefined {
    if (this.connectedSince === undefined) return undefined;
    const idle =
      this.lanes.length > 0 && this.lanes.every((lane) => lane.waitingSince !== undefined);
    const seenUntil = idle ? Date.now() : this.drainedAt;
    return seenUntil === undefined ? undefined : { seenUntil, connectedSince: this.connectedSince };
  }

  private open(onDelivery: (delivery: Delivery<T>) => void): void {
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
        void this.receive(channel, raw, onDelivery);
      });
      this.consumerTag = { channel, tag: consumerTag };
      this.connectedSince = Date.now();
    });
  }

  private async receive(
    channel: ConfirmChannel,
    raw: ConsumeMessage,
    onDelivery: (delivery: Delivery<T>) => void,
  ): Promise<void> {
    if (this.stopping) return; // left unacked: the broker hands it out again after close
    const decoded = this.options.decode(raw.content);
    if (!decoded.ok) {
      await this.track(() => this.deadLetter(channel, raw, decoded.reason));
      return;
    }
    onDelivery(new PendingDelivery(decoded.message, raw, channel));
  }

  private async settle(deliveries: Delivery<T>[]): Promise<void> {
    for (const delivery of deliveries) {
      const { rejection, requeued } = delivery as PendingDelivery<T>;
      if (requeued) {
        safely(() => delivery.channel.nack(delivery.raw, false, true));
      } else if (rejection !== undefined) {
        await this.deadLetter(delivery.channel, delivery.raw, rejection);
      } else {
        safely(() => delivery.channel.ack(delivery.raw));
      }
    }
  }

  /** Republish with the reason in a header, then ack; if that fails, let the broker dead-letter it. */
  private async deadLetter(channel: ConfirmChannel, raw: ConsumeMessage, reason: string) {
    this.logger.warn(`dead-lettering message ${raw.properties.messageId ?? ''}: ${reason}`);
    try {
      await this.deadLetters.publish(Exchanges.deadLetter, raw.fields.routingKey, raw.content, {
        messageId: raw.properties.messageId as string | undefined,
        type: raw.properties.type as string | undefined,
        headers: {
          ...(raw.properties.headers ?? {}),
          [DEAD_LETTER_REASON_HEADER]: reason,
          [DEAD_LETTER_QUEUE_HEADER]: this.options.queue,
          'x-aegir-exchange': raw.fields.exchange,
        },
      });
      safely(() => channel.ack(raw));
    } catch (error) {
      this.logger.error(`could not dead-letter with a reason (${describe(error)}); nacking`);
      safely(() => channel.nack(raw, false, false));
    }
  }

  private async track(work: () => Promise<void>): Promise<void> {
    this.inFlight++;
    try {
      await work();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  /** Stops taking deliveries, lets the work in hand finish (its acks included), closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const lane of this.lanes) lane.wake?.();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    for (const lane of this.lanes) lane.pending = [];
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

/** A stable lane for a key (FNV-1a over its UTF-16 units). */
export function laneOf(key: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
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
