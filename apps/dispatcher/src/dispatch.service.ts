import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { Catalogue } from '@app/catalogue';
import {
  brokerTopology,
  CONTRACT_VERSION,
  decodeDispatch,
  encodeMessage,
  Exchanges,
  Queues,
  type DispatchMessage,
  type EventMessage,
} from '@app/contracts';
import { AmqpChannels, type ConfirmedPublisher, type QueueConsumer } from '@app/amqp';
import { DISPATCHER_CONFIG, type DispatcherConfig } from './dispatcher.config';
import { OperationEvents } from './operation-events';
import { OperationRun } from './operation-run';

/**
 * Takes operations off this dispatcher's pool queue, at most `concurrency` at a time. A
 * dispatch message is acked once `running` is confirmed, so a long playbook never holds
 * a delivery open; heartbeats name the operations in hand.
 */
@Injectable()
export class DispatchService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DispatchService.name);
  private readonly running = new Map<string, OperationRun>();
  private readonly finished = new Set<Promise<unknown>>();
  private publisher!: ConfirmedPublisher;
  private consumer?: QueueConsumer<DispatchMessage>;
  private heartbeat?: NodeJS.Timeout;
  private slots: number;
  private slotWaiters: (() => void)[] = [];

  constructor(
    private readonly amqp: AmqpChannels,
    private readonly catalogue: Catalogue,
    @Inject(DISPATCHER_CONFIG) private readonly config: DispatcherConfig,
  ) {
    this.slots = config.concurrency;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.amqp.declare(brokerTopology([this.config.pool]));
    this.publisher = this.amqp.confirmedPublisher();
    this.consumer = this.amqp.consumer<DispatchMessage>({
      queue: Queues.dispatch(this.config.pool),
      prefetch: this.config.concurrency,
      decode: decodeDispatch,
    });
    this.consumer.start(async ({ message }) => this.accept(message));
    this.heartbeat = setInterval(() => void this.sendHeartbeat(), this.config.heartbeatIntervalMs);
    void this.sendHeartbeat();
    this.logger.log(
      `dispatcher ${this.config.id} serving pool "${this.config.pool}" with concurrency ${this.config.concurrency}`,
    );
  }

  /** Resolves (and so acks the message) once the operation is claimed and reported. */
  private async accept(message: DispatchMessage): Promise<void> {
    if (this.running.has(message.operationId)) {
      this.logger.warn(
        `operation ${message.operationId} is already running here; duplicate dropped`,
      );
      return;
    }
    await this.acquireSlot();
    const events = new OperationEvents(
      message.operationId,
      this.config.id,
      (event) => this.send(event),
      {
        batchLines: this.config.logBatchLines,
        batchMs: this.config.logBatchMs,
        maxBufferedLines: this.config.maxBufferedLines,
        onRetry: (error, attempt) =>
          this.logger.warn(
            `operation ${message.operationId}: event not confirmed (attempt ${attempt}): ${String(error)}`,
          ),
      },
    );
    const run = new OperationRun(message, events, this.catalogue, this.config);
    this.running.set(message.operationId, run);
    let plan: Awaited<ReturnType<OperationRun['claim']>>;
    try {
      plan = await run.claim();
    } catch (error) {
      this.release(message.operationId);
      throw error;
    }
    if (!plan) {
      this.release(message.operationId);
      return;
    }
    this.logger.log(
      `operation ${message.operationId} (${message.type} on ${message.target}) running`,
    );
    const done = run
      .run(plan)
      .then((status) => this.logger.log(`operation ${message.operationId} ${status}`))
      .catch((error) => this.logger.error(`operation ${message.operationId}: ${String(error)}`))
      .finally(() => {
        this.release(message.operationId);
        this.finished.delete(done);
      });
    this.finished.add(done);
  }

  private send(event: EventMessage): Promise<void> {
    return this.publisher.publish(Exchanges.events, event.kind, encodeMessage(event), {
      type: event.kind,
    });
  }

  private async sendHeartbeat(): Promise<void> {
    try {
      await this.send({
        v: CONTRACT_VERSION,
        kind: 'heartbeat',
        dispatcherId: this.config.id,
        pool: this.config.pool,
        operations: [...this.running.keys()],
        at: new Date().toISOString(),
      });
    } catch (error) {
      this.logger.warn(`heartbeat not confirmed: ${String(error)}`);
    }
  }

  private async acquireSlot(): Promise<void> {
    if (this.slots > 0) {
      this.slots--;
      return;
    }
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private release(operationId: string): void {
    this.running.delete(operationId);
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.slots++;
  }

  /** Stop taking work; let running operations finish within the grace period, then stop them. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    const consumerStopped = this.consumer?.stop();
    if (this.running.size > 0) {
      this.logger.log(
        `waiting up to ${this.config.shutdownGraceMs} ms for ${this.running.size} operation(s)`,
      );
      const allDone = Promise.allSettled([...this.finished]);
      const timedOut = await Promise.race([
        allDone.then(() => false),
        new Promise<boolean>((resolve) =>
          setTimeout(() => resolve(true), this.config.shutdownGraceMs),
        ),
      ]);
      if (timedOut) {
        for (const run of this.running.values()) run.stop(`dispatcher ${this.config.id} shut down`);
        await allDone;
      }
    }
    await consumerStopped;
  }
}
