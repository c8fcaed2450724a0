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

/**
 * The status changes of every operation, for all the dashboards of this process: the ids the
 * hub names on the status channel are gathered for an event interval and read in one round
 * trip, and each dashboard gets those its filter takes.
 */
@Injectable()
export class StatusFeed implements OnModuleDestroy {
  private readonly logger = new Logger('OperationsStream');
  private readonly pending = new Set<string>();
  private readonly watchers = new Set<(views: OperationView[]) => void>();
  private timer?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: OperationStore,
    private readonly settings: ApiStreamSettings,
    hub: NotificationHub,
  ) {
    this.unsubscribe = hub.subscribe((event) => {
      if (event.kind !== 'status' || this.watchers.size === 0) return;
      this.pending.add(event.operationId);
      this.timer ??= setTimeout(() => void this.flush(), this.settings.eventIntervalMs);
    });
  }

  watch(watcher: (views: OperationView[]) => void): () => void {
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
      for (const watcher of this.watchers) watcher(views);
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
 * One dashboard's stream: a `status` event `{operations: [...]}` with the operations whose
 * status (or a task's) changed and that its filter takes. While the client is slow to read,
 * changes wait, merged by operation (the newest view of each).
 */
export class OperationsStream {
  private readonly waiting = new Map<string, OperationView>();
  private sending = false;

  constructor(
    private readonly sse: SseWriter,
    private readonly filter: OperationsFilter,
  ) {}

  run(feed: StatusFeed): Promise<void> {
    const stop = feed.watch((views) => this.offer(views));
    return new Promise((resolve) =>
      this.sse.onClose(() => {
        stop();
        resolve();
      }),
    );
  }

  private offer(views: OperationView[]): void {
    for (const view of views) if (matches(this.filter, view)) this.waiting.set(view.id, view);
    if (this.waiting.size > 0 && !this.sending) void this.drain();
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
