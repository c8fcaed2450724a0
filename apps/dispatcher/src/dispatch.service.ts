import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Catalogue } from '@app/catalogue';
import {
  CONTRACT_VERSION,
  encodeMessage,
  Exchanges,
  Queues,
  type CancelMessage,
  type DispatchMessage,
  type EventMessage,
  type SignedClaimResultMessage,
} from '@app/contracts';
import {
  AmqpChannels,
  AmqpTransport,
  Redeliver,
  Refuse,
  type ConfirmedPublisher,
  type PublishOptions,
} from '@app/amqp';
import { describeError, FieldLogger } from '@app/platform';
import { ProcessRunner } from '@app/runner';
import { ClaimClient } from './claims';
import { controlQueueOf } from './dispatcher.queues';
import { DispatcherSettings } from './dispatcher.settings';
import { OperationEvents, spillDirFor } from './operation-events';
import { OperationRun } from './operation-run';
import { ensurePrivateDir } from './private-dir';
import { SecretOpener } from './secret-opener';
import { RecentlyCancelled } from './recently-cancelled';
import { WorkDir } from './work-dir';

export interface DispatcherLoad {
  /** Operations running (each runs one task at a time). */
  running: number;
  /** Lines of output in memory, not yet confirmed by the broker. */
  bufferedLines: number;
  /** Bytes of output in spill files. */
  spilledBytes: number;
}

/**
 * Runs the operations this dispatcher's pool queue hands it, at most `concurrency` at a
 * time. Each one is claimed from the relay first (so a cancel that reached the database
 * first wins), and its message is acked once the claim is answered, so a long playbook
 * never holds a delivery open. Cancels and claim answers arrive on the dispatcher's own
 * control queue; heartbeats name the operations in hand.
 */
@Injectable()
export class DispatchService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(DispatchService.name);
  private readonly running = new Map<string, OperationRun>();
  /** Operations being claimed or run here: a second message for one of them is a duplicate. */
  private readonly inHand = new Set<string>();
  private readonly finished = new Set<Promise<unknown>>();
  private readonly cancelled = new RecentlyCancelled();
  private readonly workDir: WorkDir;
  private publisher!: ConfirmedPublisher;
  private claims!: ClaimClient;
  private heartbeat?: NodeJS.Timeout;
  private slots: number;
  private slotWaiters: (() => void)[] = [];
  private stopping = false;
  private readonly finishListeners: ((type: string, status: string) => void)[] = [];

  constructor(
    private readonly amqp: AmqpChannels,
    private readonly transport: AmqpTransport,
    private readonly catalogue: Catalogue,
    private readonly config: DispatcherSettings,
    private readonly runner: ProcessRunner,
    private readonly opener: SecretOpener,
  ) {
    this.slots = config.concurrency;
    this.workDir = new WorkDir(config.workDir);
  }

  /** Before the queues are consumed: the work dir is ours, and what it holds is reported. */
  async onApplicationBootstrap(): Promise<void> {
    await ensurePrivateDir('DISPATCHER_STATE_DIR', this.config.stateDir);
    await this.workDir.lock();
    this.publisher = this.amqp.confirmedPublisher();
    await this.reportAbandoned();
    const replyTo = controlQueueOf(this.config);
    this.claims = new ClaimClient(
      this.config.id,
      (claim) => this.publish(Exchanges.events, claim.kind, claim, { replyTo }),
      () => replyTo,
      this.config.claimTimeoutMs,
    );
    this.heartbeat = setInterval(() => void this.sendHeartbeat(), this.config.heartbeatIntervalMs);
    void this.sendHeartbeat();
    this.logger.log(
      `dispatcher ${this.config.id} serving pool "${this.config.pool}" with concurrency ${this.config.concurrency}`,
    );
  }

  /**
   * Operations an earlier run of this dispatcher left unfinished are reported lost, each
   * forgotten once the broker confirmed its report (a start that fails half-way reports the
   * rest next time; the relay ignores a second `lost` for an operation that has ended).
   */
  private async reportAbandoned(): Promise<void> {
    for (const operationId of await this.workDir.abandoned()) {
      const reason = `dispatcher ${this.config.id} restarted while running it`;
      this.logFor(operationId).warn(`operation ${operationId}: ${reason}; reported lost`);
      const lost: EventMessage = {
        v: CONTRACT_VERSION,
        kind: 'status',
        operationId,
        taskId: null,
        status: 'lost',
        reason,
        at: new Date().toISOString(),
        dispatcherId: this.config.id,
      };
      await this.publish(Exchanges.events, lost.kind, lost);
      await this.workDir.forget(operationId);
    }
  }

  /** Operations running here now, and what of their output waits for the broker (for metrics). */
  load(): DispatcherLoad {
    const load = { running: this.running.size, bufferedLines: 0, spilledBytes: 0 };
    for (const run of this.running.values()) {
      const { memoryLines, spilledBytes } = run.buffered;
      load.bufferedLines += memoryLines;
      load.spilledBytes += spilledBytes;
    }
    return load;
  }

  /** `listener` hears the type and final status of every operation that ends here. */
  onFinished(listener: (type: string, status: string) => void): void {
    this.finishListeners.push(listener);
  }

  /** A signed answer to a claim other than the one pending (an old one, replayed) is refused. */
  claimAnswered(message: SignedClaimResultMessage): void {
    if (this.claims.answer(message) === 'another-claim') {
      throw new Refuse(
        `claim-result refused: it answers claim ${message.claimId ?? '(none)'}, not the one pending for operation ${message.operationId}`,
      );
    }
  }

  cancel(message: CancelMessage): void {
    this.cancelled.add(message.operationId);
    const run = this.running.get(message.operationId);
    if (run) {
      this.logFor(message.operationId).log(
        `operation ${message.operationId}: cancel received (${message.reason})`,
        { task: run.runningTask },
      );
      run.stop(message.reason);
    }
  }

  /** Resolves (and so acks the message) once the operation is claimed and reported, or refused. */
  async accept(message: DispatchMessage): Promise<void> {
    const { operationId } = message;
    const log = this.logFor(operationId);
    if (this.inHand.has(operationId) || this.cancelled.has(operationId)) {
      log.warn(`operation ${operationId}: already in hand or cancelled; message dropped`);
      return;
    }
    this.inHand.add(operationId);
    await this.acquireSlot();
    let started = false;
    try {
      started = await this.claimAndStart(message, log);
    } finally {
      if (!started) this.release(operationId);
    }
  }

  /** True when the operation runs here now (its slot is released when it ends). */
  private async claimAndStart(message: DispatchMessage, log: FieldLogger): Promise<boolean> {
    const { operationId } = message;
    const claim = this.stopping ? 'stopped' : await this.claims.claim(operationId);
    if (claim === 'stopped') throw new Redeliver('the dispatcher is stopping');
    if (!claim.granted) {
      log.log(`operation ${operationId}: not run (${claim.reason})`);
      return false;
    }
    const run = new OperationRun(
      message,
      this.eventsFor(operationId, log),
      this.catalogue,
      this.config,
      this.runner,
      this.opener,
    );
    this.running.set(operationId, run);
    // The grant made it running in the relay's database: a cancel that overtook the answer
    // must still end it, as cancelled with no task run, or it would end lost.
    if (this.cancelled.has(operationId)) run.stop('cancelled before it started');
    const plan = await run.claim();
    if (!plan) return false;
    // One info line per operation that succeeds (at 50 a second, each line costs); the
    // relay stores every outcome, the log adds those that went wrong.
    log.log(`operation ${operationId} (${message.type} on ${message.target}) running`);
    const done = run
      .run(plan)
      .then((status) => {
        for (const listener of this.finishListeners) listener(message.type, status);
        if (status === 'succeeded') log.debug(`operation ${operationId} succeeded`);
        else {
          const task = run.endedInTask;
          const where = task === undefined ? '' : ` in task "${task}"`;
          log.log(`operation ${operationId} ${status}${where}`, { task });
        }
      })
      .catch((error) => log.error(`operation ${operationId}: ${describeError(error)}`))
      .finally(() => {
        this.release(operationId);
        this.finished.delete(done);
      });
    this.finished.add(done);
    return true;
  }

  /** Every line about an operation carries its id (every dispatcher line carries dispatcherId). */
  private logFor(operationId: string): FieldLogger {
    return new FieldLogger(this.logger, { operationId });
  }

  private eventsFor(operationId: string, log: FieldLogger): OperationEvents {
    return new OperationEvents(
      operationId,
      this.config.id,
      (event) => this.publish(Exchanges.events, event.kind, event),
      {
        batchLines: this.config.logBatchLines,
        batchMs: this.config.logBatchMs,
        maxBufferedLines: this.config.maxBufferedLines,
        batchBytes: this.config.logBatchBytes,
        maxBufferedBytes: this.config.maxBufferedBytes,
        spill: {
          dir: spillDirFor(this.config.workDir, operationId),
          maxBytes: this.config.spillMaxBytes,
        },
        onSpillError: (error) =>
          log.error(`operation ${operationId}: spill: ${describeError(error)}`),
        onRetry: (error, attempt) =>
          log.warn(
            `operation ${operationId}: event not confirmed (attempt ${attempt}): ${describeError(error)}`,
          ),
      },
    );
  }

  private publish(
    exchange: string,
    routingKey: string,
    message: { kind: string },
    options: PublishOptions = {},
  ): Promise<void> {
    return this.publisher.publish(exchange, routingKey, encodeMessage(message), {
      ...options,
      type: message.kind,
    });
  }

  private async sendHeartbeat(): Promise<void> {
    const beat: EventMessage = {
      v: CONTRACT_VERSION,
      kind: 'heartbeat',
      dispatcherId: this.config.id,
      pool: this.config.pool,
      // being claimed counts: the relay may already have made them `running` for us
      operations: [...this.inHand],
      at: new Date().toISOString(),
      concurrency: this.config.concurrency,
    };
    try {
      await this.publish(Exchanges.events, beat.kind, beat);
    } catch (error) {
      this.logger.warn(`heartbeat not confirmed: ${describeError(error)}`);
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
    this.inHand.delete(operationId);
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.slots++;
  }

  /** Stop taking work; let running operations finish within the grace period, then stop them. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.claims?.stop();
    for (const wake of this.slotWaiters.splice(0)) wake();
    const dispatchesStopped = this.transport.pause(Queues.dispatch(this.config.pool));
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
        for (const run of this.running.values()) {
          run.stop(`dispatcher ${this.config.id} shut down`);
        }
        await allDone;
      }
    }
    await dispatchesStopped;
    clearInterval(this.heartbeat);
  }

  /** After the transport drained the control queue too. */
  async onApplicationShutdown(): Promise<void> {
    await this.workDir.unlock();
  }
}
