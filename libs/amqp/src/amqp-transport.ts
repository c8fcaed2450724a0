import type { FactoryProvider, INestApplication, InjectionToken } from '@nestjs/common';
import {
  Server,
  type CustomTransportStrategy,
  type MessageHandler,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import type { NestMicroservice } from '@nestjs/microservices/nest-microservice';
import type { ConfirmChannel } from 'amqplib';
import { lastValueFrom } from 'rxjs';
import { encodeMessage } from '@app/contracts';
import type { LogFields } from '@app/platform';
import { AmqpContext } from './amqp-context';
import { AmqpChannels } from './amqp.module';
import { AmqpSettings } from './amqp.settings';
import type { EnvelopeDeserializer } from './envelope-deserializer';
import { HandlerErrorPassthrough, Redeliver, Refuse } from './handler-outcomes';
import type { ConsumerHorizon, Delivery, QueueConsumer } from './queue-consumer';

export const AMQP_TRANSPORT = Symbol('aegir-amqp');

/** One queue the transport consumes, and the message kinds (patterns) it carries. */
export interface TransportQueue {
  /** The queue's name: also how `pause()` and `horizon()` name it. */
  queue: string;
  prefetch: number;
  /** Every pattern must have a handler; a message of another kind is dead-lettered. */
  patterns: readonly string[];
  deserializer: EnvelopeDeserializer<{ kind: string }>;
  /** Assert the queue itself (an exclusive one) and return its name. */
  assertQueue?: (channel: ConfirmChannel) => Promise<string>;
}

export interface AmqpTransportOptions {
  /** Consumed in this order, each registered with the broker before the next is opened. */
  queues: readonly TransportQueue[];
  /** How long start-up waits for each consumer. */
  connectTimeoutMs: number;
}

/**
 * A NestJS microservice transport on golevelup's connection: deliveries go to the
 * `@EventPattern` / `@MessagePattern` handler of their message's kind, and are acked only
 * once the handler's promise has resolved. A message that does not decode, has no handler
 * on its queue, or whose handler throws is dead-lettered with the reason (never requeued in
 * a loop); a handler that throws `Redeliver` gives it back to the queue. What a
 * `@MessagePattern` handler returns is published to the message's reply-to queue.
 */
export class AmqpTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = AMQP_TRANSPORT;
  private readonly consumers = new Map<string, QueueConsumer<IncomingPacket>>();

  constructor(
    private readonly channels: AmqpChannels,
    private readonly options: AmqpTransportOptions,
  ) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.checkHandlers();
      for (const queue of this.options.queues) await this.consume(queue);
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Stops taking deliveries from one queue, and waits for the handlers in hand to settle. */
  async pause(queue: string): Promise<void> {
    await this.consumers.get(queue)?.stop();
  }

  /** See QueueConsumer.horizon. */
  horizon(queue: string): ConsumerHorizon | undefined {
    return this.consumers.get(queue)?.horizon();
  }

  /** See QueueConsumer.consuming; false for a queue the transport does not consume. */
  consuming(queue: string): boolean {
    return this.consumers.get(queue)?.consuming ?? false;
  }

  /** See QueueConsumer.ready. */
  ready(queue: string): Promise<number | undefined> {
    return this.consumers.get(queue)?.ready() ?? Promise.resolve(undefined);
  }

  /** Drains every queue, in the reverse of the order they were opened. */
  async close(): Promise<void> {
    for (const consumer of [...this.consumers.values()].reverse()) await consumer.stop();
  }

  on(): never {
    throw new Error('AmqpTransport has no events to listen to');
  }

  unwrap<T>(): T {
    return this.channels as T;
  }

  /** Every pattern a queue names has a handler, and every handler a queue. */
  private checkHandlers(): void {
    const carried = new Set(this.options.queues.flatMap((queue) => queue.patterns));
    const missing = [...carried].filter((pattern) => !this.messageHandlers.has(pattern));
    const orphans = [...this.messageHandlers.keys()].filter((pattern) => !carried.has(pattern));
    if (missing.length > 0) throw new Error(`no handler for ${missing.join(', ')}`);
    if (orphans.length > 0) throw new Error(`no queue carries ${orphans.join(', ')}`);
  }

  private async consume(queue: TransportQueue): Promise<void> {
    const patterns = new Set(queue.patterns);
    const consumer = this.channels.consumer<IncomingPacket>({
      queue: queue.queue,
      prefetch: queue.prefetch,
      assertQueue: queue.assertQueue,
      logFields: (packet) => operationOf(packet.data),
      decode: (body, raw) => {
        try {
          const packet = queue.deserializer.deserialize(body, raw);
          return patterns.has(packet.pattern)
            ? { ok: true, message: packet }
            : { ok: false, reason: `${queue.queue} takes no ${packet.pattern} message` };
        } catch (error) {
          return { ok: false, reason: error instanceof Error ? error.message : String(error) };
        }
      },
    });
    this.consumers.set(queue.queue, consumer);
    await withTimeout(
      consumer.start((delivery) => this.handle(queue.queue, delivery)),
      this.options.connectTimeoutMs,
      `the broker did not register a consumer on ${queue.queue}`,
    );
  }

  private async handle(queue: string, delivery: Delivery<IncomingPacket>): Promise<void> {
    const { pattern, data } = delivery.message;
    const handler = this.messageHandlers.get(pattern) as MessageHandler;
    const context = new AmqpContext(delivery.raw, queue, pattern);
    let result: unknown;
    try {
      result = await lastValueFrom(this.transformToObservable(await handler(data, context)), {
        defaultValue: undefined,
      });
    } catch (error) {
      if (error instanceof Redeliver) delivery.requeue();
      else if (error instanceof Refuse) delivery.reject(error.message);
      else delivery.reject(`handler failed: ${describe(error)}`);
      return;
    }
    if (!handler.isEventHandler && result !== undefined) await this.reply(delivery, result);
  }

  /** A reply that cannot be delivered is logged: its asker is gone, and asks again if it comes back. */
  private async reply(delivery: Delivery<IncomingPacket>, result: unknown): Promise<void> {
    const body = delivery.message.data as { replyTo?: unknown };
    const replyTo =
      (delivery.raw.properties.replyTo as string | undefined) ??
      (typeof body.replyTo === 'string' ? body.replyTo : undefined);
    if (!replyTo) {
      this.logger.warn(`${delivery.message.pattern}: a reply, and nowhere to send it`);
      return;
    }
    const outgoing =
      result instanceof OutgoingMessage
        ? result
        : new OutgoingMessage(encodeMessage(result as object), (result as { kind?: unknown }).kind);
    try {
      // the default exchange routes straight to the asker's own queue
      await this.channels.confirmedPublisher().publish('', replyTo, outgoing.body, {
        type: typeof outgoing.kind === 'string' ? outgoing.kind : undefined,
        headers: outgoing.headers,
        correlationId: delivery.raw.properties.correlationId as string | undefined,
      });
    } catch (error) {
      this.logger.warn(`reply to ${replyTo} not delivered: ${describe(error)}`);
    }
  }
}

/**
 * A reply already encoded (e.g. signed: its bytes must go out as they are), for a
 * `@MessagePattern` handler to return instead of a plain object.
 */
export class OutgoingMessage {
  constructor(
    readonly body: Buffer,
    readonly kind: unknown,
    readonly headers?: Record<string, string>,
  ) {}
}

interface IncomingPacket {
  pattern: string;
  data: unknown;
}

/** The operation a message names (every kind but a heartbeat names one). */
function operationOf(data: unknown): LogFields {
  const { operationId } = (data ?? {}) as { operationId?: unknown };
  return typeof operationId === 'string' ? { operationId } : {};
}

/** Provides the app's AmqpTransport, its queues made from what `inject` names. */
export function amqpTransportProvider<Deps extends unknown[]>(options: {
  inject: InjectionToken[];
  queues: (...deps: Deps) => readonly TransportQueue[];
}): FactoryProvider<AmqpTransport> {
  return {
    provide: AmqpTransport,
    inject: [AmqpChannels, AmqpSettings, ...options.inject],
    useFactory: (channels: AmqpChannels, amqp: AmqpSettings, ...deps: unknown[]) =>
      new AmqpTransport(channels, {
        queues: options.queues(...(deps as Deps)),
        connectTimeoutMs: amqp.connectTimeoutMs,
      }),
  };
}

/**
 * Starts the app as a microservice on its AmqpTransport (a hybrid app: an HTTP port can be
 * opened beside it). The app's providers start first (the topology is declared, the
 * dispatcher's work dir locked), then the queues are consumed. Handlers' errors reach the
 * transport as thrown (not as Nest's generic "Internal server error"), so a dead letter
 * carries the reason.
 */
export async function startAmqpMicroservice(app: INestApplication): Promise<void> {
  // Deferred so that the filter is in place before the listeners are made.
  const microservice = app.connectMicroservice<MicroserviceOptions>(
    { strategy: app.get(AmqpTransport) },
    { deferInitialization: true },
  ) as NestMicroservice;
  microservice.useGlobalFilters(new HandlerErrorPassthrough());
  await app.init();
  // The microservice shares the app's container, whose lifecycle hooks app.init() ran:
  // left unmarked, listen() would run every onModuleInit and onApplicationBootstrap again.
  microservice.setIsInitHookCalled(true);
  await app.startAllMicroservices();
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
