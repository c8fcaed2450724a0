import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal } from '@app/contracts';
import { firstGap, LIVE_LOG_EVENTS, type LiveEnd } from '@app/platform';
import { linesChunk, type Chunk, type OperationFeed } from './operation-feed';
import type { SseWriter } from './sse-writer';

/** How long a missing seq may hold back the lines after it (a batch committed late). */
const GAP_WAIT_MS = 2000;
const GAP_RECHECK_MS = 200;

/**
 * One client's live log of one operation: the lines after its cursor (Last-Event-ID or
 * `after`), from the database while it is behind and from the operation's feed once it keeps
 * up, each seq once and in order; a `status` event first and whenever the operation or a task
 * changes; at most one step per event interval, so lines that come meanwhile share an event;
 * and, once the operation has ended and every line stored before its final status is sent,
 * `end`, and the stream closes.
 */
export class LogStream {
  private poked = true;
  private wakeUp?: () => void;
  private lastEvent = 0;
  private sentStatus?: Buffer;
  private gapSince?: number;
  /** A gap is being waited out: the late line is in the database, not in the feed. */
  private fromDatabase = false;

  constructor(
    private readonly sse: SseWriter,
    private readonly feed: OperationFeed,
    private cursor: number,
    private readonly intervalMs: number,
  ) {}

  async run(): Promise<void> {
    const stopWatching = this.feed.watch(() => this.poke());
    this.sse.onClose(() => this.poke());
    try {
      for (;;) {
        await this.nextPoke();
        const wait = this.lastEvent + this.intervalMs - Date.now();
        if (wait > 0 && !this.sse.isClosed) await sleep(wait);
        if (this.sse.isClosed) return;
        if (await this.step()) return this.sse.end();
      }
    } finally {
      stopWatching();
    }
  }

  /** One round: status, lines, end. True when the stream is over. */
  private async step(): Promise<boolean> {
    // both read before the lines: a terminal state's lines all lie at or below its tail
    const state = this.feed.state;
    const tail = this.feed.tail;
    if (!state) return true; // the operation was deleted
    const status = this.feed.statusFrame;
    if (status !== this.sentStatus) {
      this.sentStatus = status;
      await this.send(status);
    }
    let chunk = await this.linesAfterCursor();
    if (chunk.lines.length > 0) {
      const { lines } = chunk;
      const gap = firstGap(lines, this.cursor);
      if (gap < lines.length) {
        this.gapSince ??= Date.now();
        if (Date.now() - this.gapSince < GAP_WAIT_MS) {
          this.fromDatabase = true;
          setTimeout(() => this.poke(), GAP_RECHECK_MS).unref();
          chunk = linesChunk(lines.slice(0, gap));
        } else {
          this.gapSince = undefined; // given up on: the line never came
        }
      } else {
        this.gapSince = undefined;
        this.fromDatabase = false;
      }
      if (chunk.lines.length > 0) {
        await this.send(chunk.frame);
        this.cursor = chunk.lines[chunk.lines.length - 1].seq;
        this.poke(); // there may be more already
      }
      return false;
    }
    if (this.gapSince === undefined && isTerminal(state.status) && this.cursor >= tail) {
      const end: LiveEnd = {
        status: state.status,
        reason: state.reason,
        exitCode: state.exitCode,
        lineCount: state.lineCount,
        linesStored: state.linesStored,
        complete: state.complete,
        lastSeq: this.cursor,
      };
      this.lastEvent = Date.now();
      await this.sse.send(LIVE_LOG_EVENTS.end, JSON.stringify(end));
      return true;
    }
    return false;
  }

  private linesAfterCursor(): Chunk | Promise<Chunk> {
    const buffered = this.fromDatabase ? null : this.feed.chunkAfter(this.cursor);
    if (buffered === '') return linesChunk([]);
    return buffered ?? this.feed.readAfter(this.cursor, this.fromDatabase);
  }

  private async send(frame: Buffer): Promise<void> {
    this.lastEvent = Date.now();
    await this.sse.sendFrame(frame);
  }

  private poke(): void {
    this.poked = true;
    this.wakeUp?.();
  }

  private nextPoke(): Promise<void> {
    if (this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wakeUp = () => {
        this.wakeUp = undefined;
        this.poked = false;
        resolve();
      };
    });
  }
}
