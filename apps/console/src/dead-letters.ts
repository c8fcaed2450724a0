import { connect, type ConfirmChannel, type GetMessage, type Options } from 'amqplib';
import {
  DEAD_LETTER_EXCHANGE_HEADER,
  DEAD_LETTER_QUEUE_HEADER,
  DEAD_LETTER_REASON_HEADER,
  Exchanges,
  Queues,
} from '@app/contracts';
import { redactUrl } from '@app/platform';
import { CliError, describeError } from './cli-error';

/** One dead-lettered message, as `aegir dlq:list` shows it. */
export interface DeadLetter {
  /** Why it was dead-lettered: the consumer's reason, or the broker's (`rejected`, `delivery_limit`…). */
  reason: string;
  /** The queue it was taken from. */
  queue: string | null;
  /** The exchange it had been published to (where `dlq:replay` puts it back). */
  exchange: string | null;
  routingKey: string;
  type: string | null;
  messageId: string | null;
  /** The first BODY_PREVIEW characters of the body, as UTF-8. */
  body: string;
  /** The body is longer than the preview. */
  truncated: boolean;
  bytes: number;
}

export interface DeadLetterPage {
  queue: string;
  /** Messages waiting in the queue before they were read. */
  waiting: number;
  messages: DeadLetter[];
}

export const BODY_PREVIEW = 200;

/** A header or property value as text: amqplib hands strings, numbers or Buffers. */
const text = (value: unknown): string | null => {
  if (value === undefined || value === null) return null;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
};

/**
 * The headers that say how a message was dead-lettered: the consumer's own (QueueConsumer
 * adds the x-aegir-* ones), or the broker's (x-death and the x-first-death-* summary, and a
 * quorum queue's x-delivery-count). A
 * replay removes them, so that a second dead-lettering says only why it happened again.
 */
const DEAD_LETTER_HEADERS = new Set([
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_QUEUE_HEADER,
  DEAD_LETTER_EXCHANGE_HEADER,
  'x-death',
  'x-first-death-reason',
  'x-first-death-queue',
  'x-first-death-exchange',
  'x-last-death-reason',
  'x-last-death-queue',
  'x-last-death-exchange',
  // the dead-letter queue's own count of deliveries (dlq:list returns what it reads)
  'x-delivery-count',
]);

/** What the headers say about a message's dead-lettering. */
export function describeDeadLetter(message: GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const death = (headers['x-death'] as Record<string, unknown>[] | undefined)?.[0];
  const ownReason = text(headers[DEAD_LETTER_REASON_HEADER]);
  const deathQueue = text(death?.queue);
  const brokerReason = death
    ? `${text(death.reason) ?? 'dead-lettered'} by the broker${deathQueue ? ` from ${deathQueue}` : ''}`
    : null;
  const body = message.content.toString('utf8');
  return {
    reason: ownReason ?? brokerReason ?? '(no reason given)',
    queue: text(headers[DEAD_LETTER_QUEUE_HEADER]) ?? deathQueue,
    exchange: text(headers[DEAD_LETTER_EXCHANGE_HEADER]) ?? text(death?.exchange),
    routingKey: message.fields.routingKey,
    type: text(message.properties.type),
    messageId: text(message.properties.messageId),
    body: body.slice(0, BODY_PREVIEW),
    truncated: body.length > BODY_PREVIEW,
    bytes: message.content.length,
  };
}

/**
 * The exchanges a dead letter may be put back on: those whose receivers (the dispatchers)
 * check who sent a message by the relay's signature in the body, which a replay carries
 * unchanged. The relay trusts the AMQP user_id of what comes on aegir.events instead, and a
 * replay is published as the console's own user: those letters are never replayed (see
 * docs/architecture.md, broker users).
 */
export const REPLAYABLE_EXCHANGES: readonly string[] = [Exchanges.dispatch, Exchanges.control];

/** Why `dlq:replay` will not put this dead letter back, or null when it may. */
export function notReplayable(letter: DeadLetter): string | null {
  if (letter.exchange === null) return 'its dead-letter headers do not say where it came from';
  if (!REPLAYABLE_EXCHANGES.includes(letter.exchange)) {
    return letter.exchange === Exchanges.events
      ? 'the relay accepts events and claims only from the dispatcher that sent them (AMQP user_id), and a replay would come from the console'
      : `it came from exchange ${JSON.stringify(letter.exchange)}: only signed messages (${REPLAYABLE_EXCHANGES.join(', ')}) are replayed`;
  }
  return null;
}

/** A dead letter that could not be put back: it stays in the dead-letter queue. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

/**
 * The dead-letter queue on one confirm channel. Messages are taken unacknowledged, at most
 * as many as were waiting when it opened (so that a message dead-lettered again meanwhile is
 * not taken twice); `remove()` acks one; `close()` gives every other one back to the queue.
 */
export class DeadLetterQueue {
  readonly queue = Queues.deadLetter;
  private taken = 0;
  /** Set by the broker's basic.return, which comes before the confirm of the same message. */
  private returned = false;

  private constructor(
    private readonly connection: Awaited<ReturnType<typeof connect>>,
    private readonly channel: ConfirmChannel,
    readonly url: string,
    /** Messages waiting in the queue when it was opened. */
    readonly waiting: number,
    private readonly confirmTimeoutMs: number,
  ) {
    channel.on('return', () => (this.returned = true));
  }

  /** Connects (bounded by `timeoutMs`) and reads how many messages wait. */
  static async open(url: string, purpose: string, timeoutMs = 10_000): Promise<DeadLetterQueue> {
    let connection;
    try {
      connection = await connect(url, {
        clientProperties: { connection_name: `aegir-console ${purpose}` },
        timeout: timeoutMs,
      });
    } catch (error) {
      throw new CliError(`cannot reach RabbitMQ at ${redactUrl(url)}: ${describeError(error)}`);
    }
    // A broker that goes away mid-read is reported by the failing call, not as an uncaught event.
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined);
      let waiting: number;
      try {
        waiting = (await channel.checkQueue(Queues.deadLetter)).messageCount;
      } catch (error) {
        throw new CliError(
          `cannot read queue ${Queues.deadLetter} at ${redactUrl(url)}: ${describeError(error)} (has aegir broker:setup run?)`,
        );
      }
      return new DeadLetterQueue(connection, channel, url, waiting, timeoutMs);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** The next message, unacknowledged; null once `waiting` were taken or the queue is empty. */
  async next(): Promise<GetMessage | null> {
    if (this.taken >= this.waiting) return null;
    const message = await this.channel.get(this.queue, { noAck: false });
    if (!message) return null;
    this.taken++;
    return message;
  }

  /** Removes a message taken by next() from the queue. */
  remove(message: GetMessage): void {
    this.channel.ack(message);
  }

  /**
   * Publishes a copy of the dead letter to `exchange` with its routing key, its body and
   * properties, without its dead-letter headers, as this connection's user (the broker checks
   * user_id), mandatory; resolves on the broker's confirm. Throws ReplayError when the broker
   * returns it (no queue bound), nacks it, or does not confirm in time.
   */
  async republish(message: GetMessage, exchange: string, userId: string): Promise<void> {
    const { properties } = message;
    const headers: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(properties.headers ?? {})) {
      if (!DEAD_LETTER_HEADERS.has(name)) headers[name] = value;
    }
    const options: Options.Publish = {
      mandatory: true,
      persistent: true,
      headers,
      contentType: properties.contentType as string | undefined,
      contentEncoding: properties.contentEncoding as string | undefined,
      messageId: properties.messageId as string | undefined,
      type: properties.type as string | undefined,
      correlationId: properties.correlationId as string | undefined,
      replyTo: properties.replyTo as string | undefined,
      appId: properties.appId as string | undefined,
      timestamp: properties.timestamp as number | undefined,
      userId,
    };
    for (const key of Object.keys(options) as (keyof Options.Publish)[]) {
      if (options[key] === undefined) delete options[key];
    }
    const routingKey = message.fields.routingKey;
    this.returned = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new ReplayError(`the broker did not confirm within ${this.confirmTimeoutMs} ms`)),
        this.confirmTimeoutMs,
      );
      try {
        this.channel.publish(exchange, routingKey, message.content, options, (error: unknown) => {
          clearTimeout(timer);
          if (error) reject(new ReplayError(`the broker refused it: ${describeError(error)}`));
          else resolve();
        });
      } catch (error) {
        clearTimeout(timer);
        reject(new ReplayError(`the broker refused it: ${describeError(error)}`));
      }
    });
    if (this.returned) {
      throw new ReplayError(`no queue is bound to ${exchange} for routing key "${routingKey}"`);
    }
  }

  /**
   * Closes the channel (the broker applies the acks sent before it; every message taken and
   * not removed goes back to the queue) and the connection.
   */
  async close(): Promise<void> {
    try {
      await this.channel.close();
    } finally {
      await this.connection.close().catch(() => undefined);
    }
  }

  /** Closes without waiting for anything (after an error: the channel may be gone already). */
  async abandon(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}

/**
 * Reads up to `limit` messages of the dead-letter queue without removing them: each is
 * taken unacknowledged and all go back to the queue when the channel closes.
 */
export async function readDeadLetters(url: string, limit: number): Promise<DeadLetterPage> {
  const queue = await DeadLetterQueue.open(url, 'dlq:list');
  try {
    const messages: DeadLetter[] = [];
    while (messages.length < limit) {
      const message = await queue.next();
      if (!message) break;
      messages.push(describeDeadLetter(message));
    }
    // Closing without acknowledging puts every message back.
    await queue.close();
    return { queue: queue.queue, waiting: queue.waiting, messages };
  } catch (error) {
    await queue.abandon();
    throw error;
  }
}

/** Which dead letters a dlq:replay or dlq:purge acts on. */
export interface DeadLetterSelector {
  /** At most this many (of those that match). */
  limit?: number;
  /** Only those taken from this queue (`x-aegir-queue`, or the broker's x-death). */
  queue?: string;
  /** Only the one with this AMQP message id. */
  messageId?: string;
}

export function selects(selector: DeadLetterSelector, letter: DeadLetter): boolean {
  if (selector.queue !== undefined && letter.queue !== selector.queue) return false;
  if (selector.messageId !== undefined && letter.messageId !== selector.messageId) return false;
  return true;
}

/** Control characters (and so line breaks) escaped, so a body stays on its row. */
export function printable(value: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
