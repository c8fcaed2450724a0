export interface LaneBatcherOptions<T> {
  /** Most items in one batch. */
  maxBatch: number;
  /** How long a lane waits for a batch to fill before it writes what it has. */
  maxWaitMs: number;
  /**
   * Batches written at once (default 1), each lane one batch at a time. Items with the same
   * key always take the same lane, so they are written in the order they were added.
   */
  lanes?: number;
  laneKey?: (value: T) => string | undefined;
}

/** One item of a batch; `fail` makes its `add()` reject instead of resolve. */
export interface BatchEntry<T> {
  readonly value: T;
  fail(error: unknown): void;
}

/** Items waiting for one lane's next batch. */
interface Lane<T> {
  pending: Entry<T>[];
  wake?: () => void;
}

/**
 * Gathers items handed over one by one into batches, and resolves each item's `add()` when
 * the batch that holds it has been written (or rejects it with its own failure). This is
 * how a per-message handler joins a batch: its promise, and so its ack, waits for the commit.
 */
export class LaneBatcher<T> {
  private readonly lanes: Lane<T>[];
  private readonly loops: Promise<void>[];
  private closing = false;

  constructor(
    private readonly options: LaneBatcherOptions<T>,
    private readonly write: (batch: BatchEntry<T>[]) => Promise<void>,
  ) {
    const count = Math.max(1, options.lanes ?? 1);
    this.lanes = Array.from({ length: count }, () => ({ pending: [] }));
    this.loops = this.lanes.map((lane) => this.loop(lane));
  }

  add(value: T): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the batcher is closed'));
    const key = this.lanes.length > 1 ? this.options.laneKey?.(value) : undefined;
    const lane = this.lanes[key === undefined ? 0 : laneOf(key, this.lanes.length)];
    const entry = new Entry(value);
    lane.pending.push(entry);
    lane.wake?.();
    return entry.settled;
  }

  /** Writes what is pending, then stops; a later `add()` rejects. */
  async close(): Promise<void> {
    this.closing = true;
    for (const lane of this.lanes) lane.wake?.();
    await Promise.all(this.loops);
  }

  private async loop(lane: Lane<T>): Promise<void> {
    for (;;) {
      if (lane.pending.length === 0) {
        if (this.closing) return;
        await new Promise<void>((resolve) => (lane.wake = resolve));
        lane.wake = undefined;
        continue;
      }
      if (lane.pending.length < this.options.maxBatch && !this.closing) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.maxWaitMs);
          lane.wake = () => {
            if (lane.pending.length >= this.options.maxBatch || this.closing) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
        lane.wake = undefined;
      }
      const batch = lane.pending.splice(0, this.options.maxBatch);
      try {
        await this.write(batch);
        for (const entry of batch) entry.settle();
      } catch (error) {
        for (const entry of batch) {
          entry.fail(error);
          entry.settle();
        }
      }
    }
  }
}

class Entry<T> implements BatchEntry<T> {
  readonly settled: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: unknown) => void;
  private failure?: { error: unknown };

  constructor(readonly value: T) {
    this.settled = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  fail(error: unknown): void {
    this.failure ??= { error };
  }

  settle(): void {
    if (this.failure) this.reject(this.failure.error);
    else this.resolve();
  }
}

/** A stable lane for a key (FNV-1a over its UTF-16 units). */
export function laneOf(key: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
}
