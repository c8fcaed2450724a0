import {
  CONTRACT_VERSION,
  type EventMessage,
  type LogLine,
  type LogStream,
  type StatusMessage,
} from '@app/contracts';

/** Sends one event and resolves on the broker's confirm; throws when it was not taken. */
export type SendEvent = (event: EventMessage) => Promise<void>;

export interface OperationEventsOptions {
  batchLines: number;
  batchMs: number;
  maxBufferedLines: number;
  /** Called when a send failed and will be tried again. */
  onRetry: (error: unknown, attempt: number) => void;
}

type StatusFields = Omit<StatusMessage, 'v' | 'kind' | 'operationId' | 'at' | 'dispatcherId'>;

/**
 * The ordered event stream of one operation. Every line gets the next seq; lines go
 * out in batches; a status goes out after every line emitted before it. A send that
 * fails is retried until it is confirmed: nothing is dropped. When too many lines wait
 * for the broker, `line()` returns a promise, so the task's output is read no faster
 * than it can be delivered.
 */
export class OperationEvents {
  private seq = 0;
  private batch: LogLine[] = [];
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private unconfirmedLines = 0;
  private drained?: { promise: Promise<void>; resolve: () => void };

  constructor(
    readonly operationId: string,
    private readonly dispatcherId: string,
    private readonly send: SendEvent,
    private readonly options: OperationEventsOptions,
  ) {}

  get lineCount(): number {
    return this.seq;
  }

  line(taskId: string | null, stream: LogStream, text: string): Promise<void> | undefined {
    this.seq += 1;
    this.unconfirmedLines += 1;
    this.batch.push({ seq: this.seq, taskId, stream, text, at: new Date().toISOString() });
    if (this.batch.length >= this.options.batchLines) {
      this.flushLines();
    } else {
      this.timer ??= setTimeout(() => this.flushLines(), this.options.batchMs);
    }
    if (this.unconfirmedLines < this.options.maxBufferedLines) return undefined;
    this.drained ??= withResolvers();
    return this.drained.promise;
  }

  /** Sends the lines so far, then the status; resolves once the broker confirmed it. */
  status(fields: StatusFields): Promise<void> {
    this.flushLines();
    return this.enqueue({
      v: CONTRACT_VERSION,
      kind: 'status',
      operationId: this.operationId,
      dispatcherId: this.dispatcherId,
      at: new Date().toISOString(),
      ...fields,
    });
  }

  /** Resolves when everything emitted so far is confirmed. */
  async flush(): Promise<void> {
    this.flushLines();
    await this.chain;
  }

  private flushLines(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    void this.enqueue({
      v: CONTRACT_VERSION,
      kind: 'log',
      operationId: this.operationId,
      lines,
    }).then(() => {
      this.unconfirmedLines -= lines.length;
      if (this.drained && this.unconfirmedLines < this.options.maxBufferedLines / 2) {
        this.drained.resolve();
        this.drained = undefined;
      }
    });
  }

  private enqueue(event: EventMessage): Promise<void> {
    const sent = this.chain.then(() => this.sendUntilConfirmed(event));
    this.chain = sent;
    return sent;
  }

  private async sendUntilConfirmed(event: EventMessage): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send(event);
        return;
      } catch (error) {
        this.options.onRetry(error, attempt);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(250 * 2 ** (attempt - 1), 5000)),
        );
      }
    }
  }
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
