import { connect, type GetMessage } from 'amqplib';
import { DEAD_LETTER_QUEUE_HEADER, DEAD_LETTER_REASON_HEADER, Queues } from '@app/contracts';
import { redactUrl } from '@app/platform';
import { CliError, describeError } from './cli-error';

/** One dead-lettered message, as `aegir dlq:list` shows it. */
export interface DeadLetter {
  /** Why it was dead-lettered: the consumer's reason, or the broker's (`rejected`, `delivery_limit`…). */
  reason: string;
  /** The queue it was taken from. */
  queue: string | null;
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
    routingKey: message.fields.routingKey,
    type: text(message.properties.type),
    messageId: text(message.properties.messageId),
    body: body.slice(0, BODY_PREVIEW),
    truncated: body.length > BODY_PREVIEW,
    bytes: message.content.length,
  };
}

/**
 * Reads up to `limit` messages of the dead-letter queue without removing them: each is
 * taken unacknowledged and all go back to the queue when the channel closes.
 */
export async function readDeadLetters(url: string, limit: number): Promise<DeadLetterPage> {
  const queue = Queues.deadLetter;
  let connection;
  try {
    connection = await connect(url, {
      clientProperties: { connection_name: 'aegir-console dlq:list' },
      timeout: 10_000,
    });
  } catch (error) {
    throw new CliError(`cannot reach RabbitMQ at ${redactUrl(url)}: ${describeError(error)}`);
  }
  // A broker that goes away mid-read is reported by the failing call, not as an uncaught event.
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    let waiting: number;
    try {
      waiting = (await channel.checkQueue(queue)).messageCount;
    } catch (error) {
      throw new CliError(
        `cannot read queue ${queue} at ${redactUrl(url)}: ${describeError(error)} (has aegir broker:setup run?)`,
      );
    }
    const messages: DeadLetter[] = [];
    while (messages.length < limit) {
      const message = await channel.get(queue, { noAck: false });
      if (!message) break;
      messages.push(describeDeadLetter(message));
    }
    // Closing without acknowledging puts every message back.
    await channel.close();
    return { queue, waiting, messages };
  } finally {
    await connection.close().catch(() => undefined);
  }
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
