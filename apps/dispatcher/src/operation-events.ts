import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CONTRACT_VERSION,
  type EventMessage,
  type LinesMessage,
  type LogStream,
  type StatusMessage,
} from '@app/contracts';
import { LinesBatch } from './lines-batch';

/** Sends one event and resolves on the broker's confirm; throws when it was not taken. */
export type SendEvent = (event: EventMessage) => Promise<void>;

export interface OperationEventsOptions {
  /** A `lines` event is sent once it holds this many lines. */
  batchLines: number;
  /** ...or once its first line waited this long. */
  batchMs: number;
  /** ...or once its lines' text reaches this many bytes (UTF-8). Default 256 KiB. */
  batchBytes?: number;
  /** Unconfirmed lines held in memory before batches are spilled, or the caller is paused. */
  maxBufferedLines: number;
  /** Likewise for the bytes of their text. Default 2 MiB. */
  maxBufferedBytes?: number;
  /**
   * Where batches go while memory is full (the broker is away or slow): a private directory
   * of this operation, made when first needed and removed once its batches are confirmed.
   * Past `maxBytes` on disk, the caller is paused. Without it, the caller is paused at once.
   */
  spill?: { dir: string; maxBytes: number };
  /** Called when a send failed and will be tried again. */
  onRetry: (error: unknown, attempt: number) => void;
  /** A batch could not be spilled (it stays in memory; spilling stops) or read back (lost). */
  onSpillError?: (error: unknown) => void;
}

/** How much of the stream waits for the broker. */
export interface BufferedOutput {
  /** Lines and bytes of line text in memory: the open batch and unconfirmed batches. */
  memoryLines: number;
  memoryBytes: number;
  /** Batches on disk, and their size. */
  spillFiles: number;
  spilledBytes: number;
}

export const DEFAULT_BATCH_BYTES = 256 * 1024;
/** Events sent in one `events` group at most (the contract allows 1000). */
const MAX_EVENTS_PER_GROUP = 100;
export const DEFAULT_MAX_BUFFERED_BYTES = 2 * 1024 * 1024;

/** The spill directory of an operation in the dispatcher's work directory (see WorkDir). */
export function spillDirFor(workDir: string, operationId: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(operationId)) {
    throw new Error(`operationId must be a plain name, got ${JSON.stringify(operationId)}`);
  }
  return join(workDir, `spill-${operationId}`);
}

type StatusFields = Omit<StatusMessage, 'v' | 'kind' | 'operationId' | 'at' | 'dispatcherId'>;

/** One event waiting for its confirm, in memory or in a spill file. */
interface Outgoing {
  event: EventMessage | undefined;
  file: string | undefined;
  lines: number;
  /** Bytes of line text it carries. */
  bytes: number;
  /** Size of its spill file. */
  fileBytes: number;
}

/**
 * The ordered event stream of one operation. Every line gets the next seq; lines go out in
 * batches; a status goes out after every line emitted before it. One event is sent at a time,
 * in order, and retried until it is confirmed: nothing is dropped, and nothing confirmed is
 * sent again (a send that failed after all may arrive twice: the relay is idempotent on seq).
 *
 * Memory is bounded in lines and bytes. While the broker does not keep up, batches past the
 * memory bound are written to spill files (one per batch, named in send order) and read back
 * when their turn comes; past the disk bound, or without a spill directory, `line()` returns a
 * promise, so the task's output is read no faster than it can be delivered.
 */
export class OperationEvents {
  private readonly batchBytesLimit: number;
  private readonly maxBufferedBytes: number;
  private seq = 0;
  private readonly batch = new LinesBatch();
  private timer?: NodeJS.Timeout;
  private drained?: { promise: Promise<void>; resolve: () => void };

  private readonly queue: Outgoing[] = [];
  private sending = false;
  private enqueued = 0;
  private confirmed = 0;
  private readonly waiters: { upTo: number; resolve: () => void }[] = [];

  private memoryLines = 0;
  private memoryBytes = 0;
  private spillFiles = 0;
  private spilledBytes = 0;
  private spillDirMade = false;
  private spillBroken = false;
  private textBytes = 0;

  constructor(
    readonly operationId: string,
    private readonly dispatcherId: string,
    private readonly send: SendEvent,
    private readonly options: OperationEventsOptions,
  ) {
    this.batchBytesLimit = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  }

  get lineCount(): number {
    return this.seq;
  }

  /** UTF-8 bytes of the text of every line so far. */
  get outputBytes(): number {
    return this.textBytes;
  }

  get buffered(): BufferedOutput {
    const { memoryLines, memoryBytes, spillFiles, spilledBytes } = this;
    return { memoryLines, memoryBytes, spillFiles, spilledBytes };
  }

  /**
   * Adds a line; `continues` marks a piece of a longer line that the next one continues.
   * Returns a promise when the caller must wait before emitting more.
   */
  line(
    taskId: string | null,
    stream: LogStream,
    text: string,
    continues = false,
  ): Promise<void> | undefined {
    const bytes = Buffer.byteLength(text, 'utf8');
    this.textBytes += bytes;
    if (
      !this.batch.accepts(taskId) ||
      (this.batch.size > 0 && this.batch.bytes + bytes > this.batchBytesLimit)
    ) {
      this.flushLines();
    }
    this.batch.add(++this.seq, taskId, stream, text, bytes, continues);
    this.memoryLines += 1;
    this.memoryBytes += bytes;
    if (this.batch.size >= this.options.batchLines || this.batch.bytes >= this.batchBytesLimit) {
      this.flushLines();
    } else {
      this.timer ??= setTimeout(() => this.flushLines(), this.options.batchMs);
    }
    if (!this.memoryFull()) return undefined;
    this.drained ??= withResolvers();
    return this.drained.promise;
  }

  /** Sends the lines so far, then the status; resolves once the broker confirmed it. */
  status(fields: StatusFields): Promise<void> {
    this.flushLines();
    const event: StatusMessage = {
      v: CONTRACT_VERSION,
      kind: 'status',
      operationId: this.operationId,
      dispatcherId: this.dispatcherId,
      at: new Date().toISOString(),
      ...fields,
    };
    return this.confirmedUpTo(this.enqueue(inMemory(event, 0, 0)));
  }

  /** Resolves when everything emitted so far is confirmed (and no spill file is left). */
  flush(): Promise<void> {
    this.flushLines();
    return this.confirmedUpTo(this.enqueued);
  }

  private memoryFull(): boolean {
    return (
      this.memoryLines >= this.options.maxBufferedLines || this.memoryBytes >= this.maxBufferedBytes
    );
  }

  private flushLines(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batch.size === 0) return;
    const bytes = this.batch.bytes;
    const event = this.batch.take(this.operationId);
    // In memory while that leaves room for a whole next batch, so the caller is not paused.
    const roomLeft =
      this.memoryLines <= this.options.maxBufferedLines - this.options.batchLines &&
      this.memoryBytes <= this.maxBufferedBytes - this.batchBytesLimit;
    const item = inMemory(event, event.text.length, bytes);
    if (!roomLeft) this.trySpill(item);
    this.enqueue(item);
  }

  /** Moves the batch to a spill file, if spilling is on and the disk bound allows it. */
  private trySpill(item: Outgoing): void {
    const spill = this.options.spill;
    if (!spill || this.spillBroken) return;
    const json = JSON.stringify(item.event);
    const size = Buffer.byteLength(json, 'utf8');
    if (this.spilledBytes + size > spill.maxBytes) return;
    // Named by the position the batch is about to take in the queue: name order is send order.
    const file = join(spill.dir, `${String(this.enqueued + 1).padStart(12, '0')}.json`);
    try {
      if (!this.spillDirMade) {
        mkdirSync(spill.dir, { recursive: true, mode: 0o700 });
        this.spillDirMade = true;
      }
      writeFileSync(file, json, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Disk full or not writable: keep this and later batches in memory, under backpressure.
      this.spillBroken = true;
      this.options.onSpillError?.(error);
      // Leave no partly written file, nor an empty directory that would read as abandoned.
      try {
        rmSync(file, { force: true });
        if (this.spillFiles === 0 && this.spillDirMade) {
          rmdirSync(spill.dir);
          this.spillDirMade = false;
        }
      } catch {
        // Left for the work directory's clean-up at the next start.
      }
      return;
    }
    item.event = undefined;
    item.file = file;
    item.fileBytes = size;
    this.memoryLines -= item.lines;
    this.memoryBytes -= item.bytes;
    this.spillFiles += 1;
    this.spilledBytes += size;
    this.releaseIfRoom();
  }

  /** Queues an event behind all others; returns its position in the stream. */
  private enqueue(item: Outgoing): number {
    this.queue.push(item);
    this.enqueued += 1;
    if (!this.sending) void this.sendAll();
    return this.enqueued;
  }

  private confirmedUpTo(position: number): Promise<void> {
    if (this.confirmed >= position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ upTo: position, resolve }));
  }

  /**
   * Sends the queue in order, each message until it is confirmed. What queued up in memory
   * meanwhile goes out as one `events` group: under load, fewer and larger messages.
   */
  private async sendAll(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const run = this.nextRun();
        if (run.length === 1) {
          const [item] = run;
          const event = item.event ?? (await this.readSpilled(item));
          if (event) await this.sendUntilConfirmed(event);
          if (item.file) await this.removeSpilled(item);
        } else {
          await this.sendUntilConfirmed({
            v: CONTRACT_VERSION,
            kind: 'events',
            operationId: this.operationId,
            events: run.map((item) => item.event as LinesMessage | StatusMessage),
          });
        }
        this.queue.splice(0, run.length);
        for (const item of run) {
          if (item.file) continue;
          this.memoryLines -= item.lines;
          this.memoryBytes -= item.bytes;
        }
        this.confirmed += run.length;
        while (this.waiters.length > 0 && this.waiters[0].upTo <= this.confirmed) {
          this.waiters.shift()!.resolve();
        }
        this.releaseIfRoom();
      }
    } finally {
      this.sending = false;
    }
  }

  /** The next message's events: a spilled batch alone, or a run of those in memory. */
  private nextRun(): Outgoing[] {
    const run = [this.queue[0]];
    if (run[0].file) return run;
    // no larger than one full batch of lines: a group gathers small events, not floods
    let { bytes, lines } = run[0];
    for (const item of this.queue.slice(1, MAX_EVENTS_PER_GROUP)) {
      if (item.file || bytes + item.bytes > this.batchBytesLimit) break;
      if (lines + item.lines > this.options.batchLines) break;
      bytes += item.bytes;
      lines += item.lines;
      run.push(item);
    }
    return run;
  }

  private async readSpilled(item: Outgoing): Promise<EventMessage | undefined> {
    try {
      return JSON.parse(await readFile(item.file!, 'utf8')) as EventMessage;
    } catch (error) {
      // Lost lines leave a gap in seq, which the relay's completeness check reports.
      this.options.onSpillError?.(error);
      return undefined;
    }
  }

  private async removeSpilled(item: Outgoing): Promise<void> {
    await rm(item.file!, { force: true }).catch((error) => this.options.onSpillError?.(error));
    this.spillFiles -= 1;
    this.spilledBytes -= item.fileBytes;
    if (this.spillFiles === 0 && this.spillDirMade) {
      // Synchronous: no batch can be spilled into the directory between the check and here.
      this.spillDirMade = false;
      try {
        rmdirSync(this.options.spill!.dir);
      } catch (error) {
        this.options.onSpillError?.(error);
      }
    }
  }

  /** Lets a paused caller go on once memory is down to half its bound. */
  private releaseIfRoom(): void {
    if (
      this.drained &&
      this.memoryLines < this.options.maxBufferedLines / 2 &&
      this.memoryBytes < this.maxBufferedBytes / 2
    ) {
      this.drained.resolve();
      this.drained = undefined;
    }
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

function inMemory(event: EventMessage, lines: number, bytes: number): Outgoing {
  return { event, file: undefined, lines, bytes, fileBytes: 0 };
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
