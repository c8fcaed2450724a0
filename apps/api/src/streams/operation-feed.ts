import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { isTerminal } from '@app/contracts';
import { OperationStore, type FollowState, type LogLineView } from '@app/database';
import { firstGap, LIVE_LOG_EVENTS, type LiveStatus } from '@app/platform';
import { NotificationHub, type HubEvent } from './notification-hub';
import { sseFrame } from './sse-writer';
import { ApiStreamSettings } from './stream.settings';

/** Lines read per round trip, and at most per event; and their bytes (about). */
export const PAGE_LINES = 5000;
export const PAGE_BYTES = 512 * 1024;
/** What a feed keeps of the newest lines for its streams; older ones are read again. */
const BUFFER_BYTES = 2 * 1024 * 1024;
/** What a feed keeps of the pages it read for streams behind it (replays). */
const REPLAY_BYTES = 2 * 1024 * 1024;
const LINE_OVERHEAD = 100;

/**
 * Some lines after a cursor, with their `lines` event made and encoded once for every stream
 * that sends it.
 */
export interface Chunk {
  lines: LogLineView[];
  frame: Buffer;
}

const NO_LINES: Chunk = { lines: [], frame: Buffer.alloc(0) };

export const linesChunk = (lines: LogLineView[]): Chunk =>
  lines.length === 0
    ? NO_LINES
    : {
        lines,
        frame: sseFrame(
          LIVE_LOG_EVENTS.lines,
          JSON.stringify({ lines }),
          lines[lines.length - 1].seq,
        ),
      };

const sizeOf = (line: LogLineView) => line.text.length + LINE_OVERHEAD;

function liveStatus(state: FollowState): LiveStatus {
  const { status, reason, exitCode, cancelRequestedAt, lineCount, linesStored, complete, tasks } =
    state;
  return { status, reason, exitCode, cancelRequestedAt, lineCount, linesStored, complete, tasks };
}

/**
 * One operation's tail, shared by every stream of it in this process. It keeps the newest
 * lines (about 2 MiB) in memory: a stream that keeps up takes its lines from here. A stream
 * behind it (a replay) asks `readAfter`, which reads each page once for every stream at the
 * same cursor: streams that open together replay together. What comes new is read for it by
 * `OperationFeeds`, in one query for every feed at once, and handed over with `apply`.
 *
 * The state is read before the lines, so once `state` is terminal `tail` covers every line
 * stored before it: a stream at `tail` has sent them all.
 */
export class OperationFeed {
  state: FollowState | null = null;
  /** The `status` event of `state`, made once for every stream (compared by identity). */
  statusFrame: Buffer = NO_LINES.frame;
  /** The seq of the newest line read. */
  tail = 0;
  private buffer: LogLineView[] = [];
  private bufferBytes = 0;
  private readonly chunks = new Map<number, Chunk>();
  /** Pages being read for streams behind the buffer, by cursor; and those read lately. */
  private readonly reading = new Map<number, Promise<Chunk>>();
  private readonly replayed = new Map<number, Chunk>();
  private replayedBytes = 0;
  private readonly watchers = new Set<() => void>();
  private closed = false;
  /** The status channel named it since its state was last read. */
  stateChanged = false;
  /** Something was committed since its last read. */
  dirty = false;
  /** Its own first read is done: from now on the feeds' reads take it. */
  started = false;
  /** Streams that acquired it and have not released it (kept by OperationFeeds). */
  holders = 0;
  readonly ready: Promise<void>;

  constructor(
    readonly id: string,
    private readonly store: OperationStore,
  ) {
    this.ready = this.start();
  }

  /** `wake` is called after every refresh; the returned function stops it. */
  watch(wake: () => void): () => void {
    this.watchers.add(wake);
    return () => this.watchers.delete(wake);
  }

  /**
   * The buffered lines after `cursor` (at most a page), '' when there are none yet, or null
   * when the buffer no longer holds the line after `cursor` (read the database).
   */
  chunkAfter(cursor: number): Chunk | '' | null {
    if (cursor >= this.tail) return '';
    const first = this.buffer[0];
    if (!first || first.seq > cursor + 1) return null;
    const cached = this.chunks.get(cursor);
    if (cached) return cached;
    let start = this.buffer.findIndex((line) => line.seq > cursor);
    if (start === -1) return '';
    const lines: LogLineView[] = [];
    let bytes = 0;
    for (; start < this.buffer.length && lines.length < PAGE_LINES; start++) {
      const line = this.buffer[start];
      if (lines.length > 0 && bytes + sizeOf(line) > PAGE_BYTES) break;
      lines.push(line);
      bytes += sizeOf(line);
    }
    const chunk = linesChunk(lines);
    this.chunks.set(cursor, chunk);
    return chunk;
  }

  /**
   * The lines after `cursor` from the database (at most a page), for a stream behind the
   * buffer; one read for every stream asking at once, and a page without a gap is kept a
   * while for those that come after. `fresh`: not from that memory (a gap is being waited
   * out, the late line may have come since).
   */
  readAfter(cursor: number, fresh = false): Promise<Chunk> {
    const kept = fresh ? undefined : this.replayed.get(cursor);
    if (kept) return Promise.resolve(kept);
    let read = this.reading.get(cursor);
    if (!read) {
      read = this.readPage(cursor).finally(() => this.reading.delete(cursor));
      this.reading.set(cursor, read);
    }
    return read;
  }

  /** Whether the next read takes its state too: the status changed, or it has ended (late lines change its counts). */
  get wantsState(): boolean {
    return this.stateChanged || (this.state !== null && isTerminal(this.state.status));
  }

  /**
   * What the feeds' read found: its state (when it was read) and the lines after `tail`;
   * wakes every stream. True when the page may not hold everything (read on next time).
   */
  apply(state: FollowState | null | undefined, lines: LogLineView[]): boolean {
    if (this.closed) return false;
    if (state !== undefined && JSON.stringify(state) !== JSON.stringify(this.state)) {
      this.setState(state);
    }
    this.append(lines);
    for (const wake of this.watchers) wake();
    return (
      lines.length === PAGE_LINES || lines.reduce((n, l) => n + sizeOf(l), 0) >= PAGE_BYTES / 2
    );
  }

  close(): void {
    this.closed = true;
    this.buffer = [];
    this.chunks.clear();
    this.replayed.clear();
  }

  private async start(): Promise<void> {
    // status first: every line up to the tail read after it was stored before it
    this.setState(await this.store.followState(this.id));
    this.tail = await this.store.lastSeq(this.id);
    this.started = true;
  }

  private setState(state: FollowState | null): void {
    this.state = state;
    if (state)
      this.statusFrame = sseFrame(LIVE_LOG_EVENTS.status, JSON.stringify(liveStatus(state)));
  }

  private async readPage(cursor: number): Promise<Chunk> {
    const lines = await this.store.linesAfter(this.id, cursor, PAGE_LINES, PAGE_BYTES);
    const chunk = linesChunk(lines);
    if (lines.length > 0 && firstGap(lines, cursor) === lines.length && !this.closed) {
      this.replayed.set(cursor, chunk);
      this.replayedBytes += chunk.frame.length;
      for (const [kept, { frame }] of this.replayed) {
        if (this.replayedBytes <= REPLAY_BYTES || kept === cursor) break;
        this.replayed.delete(kept);
        this.replayedBytes -= frame.length;
      }
    }
    return chunk;
  }

  private append(lines: LogLineView[]): void {
    if (lines.length === 0) return;
    this.chunks.clear();
    for (const line of lines) {
      this.buffer.push(line);
      this.bufferBytes += sizeOf(line);
    }
    this.tail = lines[lines.length - 1].seq;
    let drop = 0;
    while (this.bufferBytes > BUFFER_BYTES && drop < this.buffer.length - 1) {
      this.bufferBytes -= sizeOf(this.buffer[drop++]);
    }
    if (drop > 0) this.buffer = this.buffer.slice(drop);
  }
}

/**
 * The feeds of this process, one per operation followed. The NotificationHub says which
 * operations changed; at most once per event interval one read takes the state of those
 * whose status changed and the new lines of every one that changed, in two queries for all
 * of them, however many there are: the api's database work grows with the commits, not with
 * the operations or the streams followed.
 */
@Injectable()
export class OperationFeeds implements OnModuleDestroy {
  private readonly logger = new Logger('LiveLog');
  private readonly feeds = new Map<string, OperationFeed>();
  private readonly unsubscribe: () => void;
  private timer?: NodeJS.Timeout;
  private reading = false;
  private lastRead = 0;

  constructor(
    private readonly store: OperationStore,
    private readonly settings: ApiStreamSettings,
    hub: NotificationHub,
  ) {
    this.unsubscribe = hub.subscribe((event) => this.onHub(event));
  }

  /** The operation's feed (made when first asked for), ready. Give it back with `release`. */
  async acquire(id: string): Promise<OperationFeed> {
    let feed = this.feeds.get(id);
    if (!feed) {
      feed = new OperationFeed(id, this.store);
      this.feeds.set(id, feed);
      feed.ready.catch(() => undefined);
    }
    feed.holders++;
    try {
      await feed.ready;
    } catch (error) {
      this.release(feed);
      throw error;
    }
    return feed;
  }

  /** A stream is done with it: the last one closes it. */
  release(feed: OperationFeed): void {
    if (--feed.holders <= 0) this.drop(feed);
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    clearTimeout(this.timer);
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
  }

  private drop(feed: OperationFeed): void {
    if (this.feeds.get(feed.id) === feed) this.feeds.delete(feed.id);
    feed.close();
  }

  private onHub(event: HubEvent): void {
    if (event.kind === 'resync') {
      for (const feed of this.feeds.values()) this.mark(feed, true);
    } else if (event.kind === 'log' || event.kind === 'status') {
      const feed = this.feeds.get(event.operationId);
      if (feed) this.mark(feed, event.kind === 'status');
    }
  }

  private mark(feed: OperationFeed, status: boolean): void {
    feed.dirty = true;
    if (status) feed.stateChanged = true;
    this.schedule();
  }

  /** A read now, or once the interval since the last one is over; one at a time. */
  private schedule(): void {
    if (this.reading || this.timer) return;
    const wait = Math.max(0, this.lastRead + this.settings.eventIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.read();
    }, wait);
  }

  private async read(): Promise<void> {
    this.reading = true;
    this.lastRead = Date.now();
    // a feed still reading its own start waits for the next round
    const due: OperationFeed[] = [];
    for (const feed of this.feeds.values()) {
      if (!feed.dirty || !feed.started) continue;
      feed.dirty = false;
      due.push(feed);
    }
    try {
      const withState = due.filter((feed) => feed.wantsState);
      for (const feed of withState) feed.stateChanged = false;
      // the states before the lines: a terminal state's lines all lie at or below the tail
      const states = await this.store.followStates(withState.map((feed) => feed.id));
      const pages = await this.store.linesAfterMany(
        due.map((feed) => ({ id: feed.id, after: feed.tail })),
        PAGE_LINES,
        PAGE_BYTES,
      );
      const stated = new Set(withState);
      for (const feed of due) {
        const state = stated.has(feed) ? (states.get(feed.id) ?? null) : undefined;
        if (feed.apply(state, pages.get(feed.id) ?? [])) feed.dirty = true;
      }
    } catch (error) {
      this.logger.warn(
        `live logs: reading ${due.length} operation(s) failed (${(error as Error).message}); trying again`,
      );
      for (const feed of due) {
        feed.dirty = true;
        feed.stateChanged = true;
      }
    } finally {
      this.reading = false;
      if ([...this.feeds.values()].some((feed) => feed.dirty)) this.schedule();
    }
  }
}
