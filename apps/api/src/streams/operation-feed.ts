import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { OperationStore, type FollowState, type LogLineView } from '@app/database';
import { firstGap, LIVE_LOG_EVENTS, logEntry, type LiveStatus } from '@app/platform';
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
 * One operation's tail, shared by every stream of it in this process. Woken by the hub, at
 * most once per event interval, it reads the status first and then the lines after the last
 * one it has, and keeps the newest lines (about 2 MiB) in memory: a stream that keeps up takes
 * its lines from here. A stream behind it (a replay) asks `readAfter`, which reads each page
 * once for every stream at the same cursor: streams that open together replay together.
 *
 * Because the status is read before the lines, once `state` is terminal `tail` covers every
 * line stored before it: a stream at `tail` has sent them all.
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
  private refreshing?: Promise<void>;
  private again = false;
  private timer?: NodeJS.Timeout;
  private lastRefresh = 0;
  private closed = false;
  /** Streams that acquired it and have not released it (kept by OperationFeeds). */
  holders = 0;
  readonly ready: Promise<void>;

  constructor(
    readonly id: string,
    private readonly store: OperationStore,
    private readonly intervalMs: number,
    private readonly logger: Logger,
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

  /** Something changed: refresh now, or once the interval since the last refresh is over. */
  notify(): void {
    if (this.closed) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastRefresh + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = undefined;
        if (this.again) {
          this.again = false;
          this.notify();
        }
      });
    }, wait);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.buffer = [];
    this.chunks.clear();
    this.replayed.clear();
  }

  private async start(): Promise<void> {
    this.lastRefresh = Date.now();
    // status first: every line up to the tail read after it was stored before it
    this.setState(await this.store.followState(this.id));
    this.tail = await this.store.lastSeq(this.id);
  }

  private setState(state: FollowState | null): void {
    this.state = state;
    if (state)
      this.statusFrame = sseFrame(LIVE_LOG_EVENTS.status, JSON.stringify(liveStatus(state)));
  }

  private async readPage(cursor: number): Promise<Chunk> {
    const lines = (await this.store.logAfter(this.id, cursor, PAGE_LINES, PAGE_BYTES)) ?? [];
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

  private async refresh(): Promise<void> {
    await this.ready;
    this.lastRefresh = Date.now();
    try {
      const state = await this.store.followState(this.id);
      const lines = (await this.store.logAfter(this.id, this.tail, PAGE_LINES, PAGE_BYTES)) ?? [];
      if (this.closed) return;
      if (JSON.stringify(state) !== JSON.stringify(this.state)) this.setState(state);
      this.append(lines);
      // a page that may not hold everything: read on at the next interval
      if (
        lines.length === PAGE_LINES ||
        lines.reduce((n, l) => n + sizeOf(l), 0) >= PAGE_BYTES / 2
      ) {
        this.again = true;
      }
    } catch (error) {
      this.logger.warn(
        logEntry(
          `live log of operation ${this.id}: read failed (${(error as Error).message}); trying again`,
          { operationId: this.id },
        ),
      );
      this.again = true;
    }
    for (const wake of this.watchers) wake();
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

/** The feeds of this process, one per operation followed, fed by the NotificationHub. */
@Injectable()
export class OperationFeeds implements OnModuleDestroy {
  private readonly logger = new Logger('LiveLog');
  private readonly feeds = new Map<string, OperationFeed>();
  private readonly unsubscribe: () => void;

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
      feed = new OperationFeed(id, this.store, this.settings.eventIntervalMs, this.logger);
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
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
  }

  private drop(feed: OperationFeed): void {
    if (this.feeds.get(feed.id) === feed) this.feeds.delete(feed.id);
    feed.close();
  }

  private onHub(event: HubEvent): void {
    if (event.kind === 'resync') for (const feed of this.feeds.values()) feed.notify();
    else if (event.kind !== 'token') this.feeds.get(event.operationId)?.notify();
  }
}
