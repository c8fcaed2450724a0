import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { OperationStatus } from '@app/contracts';
import { OperationStore, type OperationView } from '@app/database';
import { OPERATIONS_STREAM_EVENT } from '@app/platform';
import { NotificationHub } from './notification-hub';
import type { SseWriter } from './sse-writer';
import { ApiStreamSettings } from './stream.settings';

/** What one dashboard asked for: the list's filters and the token's scope. */
export interface OperationsFilter {
  status?: OperationStatus;
  type?: string;
  target?: string;
  accept?: (operation: { type: string; target: string }) => boolean;
}

function matches(filter: OperationsFilter, view: OperationView): boolean {
  return (
    (filter.status === undefined || view.status === filter.status) &&
    (filter.type === undefined || view.type === filter.type) &&
    (filter.target === undefined || view.target === filter.target) &&
    (filter.accept?.(view) ?? true)
  );
}

export interface StatusWatcher {
  /** These operations changed (their views as read after the change). */
  changed(views: OperationView[]): void;
  /** Changes may have been missed (the LISTEN connection was remade). */
  resync(): void;
}

/** How a dashboard's stream reads: the page it starts from, and operations again by id. */
export interface OperationsReader {
  snapshot(): Promise<OperationView[]>;
  read(ids: string[]): Promise<OperationView[]>;
}

/**
 * The status changes of every operation, for all the dashboards of this process: the ids the
 * hub names on the status channel are gathered for an event interval and read in one round
 * trip, and each dashboard gets those its filter takes.
 */
@Injectable()
export class StatusFeed implements OnModuleDestroy {
  private readonly logger = new Logger('OperationsStream');
  private readonly pending = new Set<string>();
  private readonly watchers = new Set<StatusWatcher>();
  private timer?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: OperationStore,
    private readonly settings: ApiStreamSettings,
    hub: NotificationHub,
  ) {
    this.unsubscribe = hub.subscribe((event) => {
      // changes made while nobody listened are unknown: every dashboard starts again
      if (event.kind === 'resync') for (const watcher of this.watchers) watcher.resync();
      if (event.kind !== 'status' || this.watchers.size === 0) return;
      this.pending.add(event.operationId);
      this.timer ??= setTimeout(() => void this.flush(), this.settings.eventIntervalMs);
    });
  }

  watch(watcher: StatusWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    clearTimeout(this.timer);
  }

  private async flush(): Promise<void> {
    const ids = [...this.pending];
    this.pending.clear();
    try {
      const views = await this.store.getMany(ids);
      for (const watcher of this.watchers) watcher.changed(views);
    } catch (error) {
      this.logger.warn(
        `operations stream: read failed (${(error as Error).message}); those changes are skipped`,
      );
    } finally {
      this.timer = undefined;
      if (this.pending.size > 0) {
        this.timer = setTimeout(() => void this.flush(), this.settings.eventIntervalMs);
      }
    }
  }
}

/**
 * One dashboard's stream. First a `status` event `{operations: [...], initial: true}`: the
 * newest operations its filter takes, as the list's first page; then `status` events
 * `{operations: [...]}` with the operations whose status (or a task's) changed and that its
 * filter takes. While the client is slow to read, changes wait, merged by operation (the
 * newest view of each). After the LISTEN connection was remade it starts again with a new
 * `initial` event, which replaces what the client holds. What changes while a page is read is
 * read again after it, so no view older than the page follows it.
 */
export class OperationsStream {
  private readonly waiting = new Map<string, OperationView>();
  private sending = false;
  private snapshots = 0;
  private readonly changedMeanwhile = new Set<string>();

  constructor(
    private readonly sse: SseWriter,
    private readonly filter: OperationsFilter,
    private readonly reader: OperationsReader,
  ) {}

  async run(feed: StatusFeed): Promise<void> {
    const closed = new Promise<void>((resolve) => this.sse.onClose(resolve));
    const stop = feed.watch({
      changed: (views) => this.offer(views),
      resync: () => void this.sendSnapshot(),
    });
    try {
      await this.sendSnapshot();
      await closed;
    } finally {
      stop();
    }
  }

  private offer(views: OperationView[]): void {
    if (this.snapshots > 0) {
      for (const view of views) this.changedMeanwhile.add(view.id);
      return;
    }
    for (const view of views) if (matches(this.filter, view)) this.waiting.set(view.id, view);
    if (this.waiting.size > 0 && !this.sending) void this.drain();
  }

  /** The first page, sent as `initial`; a stream that cannot read it ends (the client reconnects). */
  private async sendSnapshot(): Promise<void> {
    this.snapshots++;
    try {
      const operations = await this.reader.snapshot();
      this.waiting.clear();
      await this.sse.send(OPERATIONS_STREAM_EVENT, JSON.stringify({ operations, initial: true }));
    } catch {
      this.sse.end();
      return;
    } finally {
      this.snapshots--;
    }
    if (this.snapshots > 0 || this.changedMeanwhile.size === 0) return;
    const ids = [...this.changedMeanwhile];
    this.changedMeanwhile.clear();
    try {
      this.offer(await this.reader.read(ids));
    } catch {
      this.sse.end();
    }
  }

  private async drain(): Promise<void> {
    this.sending = true;
    while (this.waiting.size > 0 && !this.sse.isClosed) {
      const operations = [...this.waiting.values()];
      this.waiting.clear();
      await this.sse.send(OPERATIONS_STREAM_EVENT, JSON.stringify({ operations }));
    }
    this.sending = false;
  }
}
