import { isTerminal } from '@app/contracts';
import type { OperationView } from '@app/database';
import { formatDuration } from '../format';
import type { Operations } from './operations';

/**
 * The exit code of `op:wait` / `op:create --wait` when --timeout passed and the operation has
 * not ended (it goes on: nothing is cancelled). Beside statusExitCode's 0, 2–5 and 1.
 */
export const WAIT_TIMEOUT_EXIT = 6;

/** How often the progress line is redrawn (elapsed time), on a terminal only. */
const PROGRESS_MS = 1000;

export interface WaitResult {
  /** The operation as last read: terminal when `ended`. */
  view: OperationView;
  ended: boolean;
}

/** One progress line on a terminal's stderr, drawn over itself; nothing elsewhere. */
export class ProgressLine {
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** Whether to draw at all: only when stderr is a terminal. */
  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  draw(text: string): void {
    if (!this.enabled) return;
    const width = this.stream.columns ? this.stream.columns - 1 : 200;
    this.stream.write(`\r\x1b[2K${text.slice(0, width)}`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/** `running · tasks 1/3 · 12.3s · 120 lines stored`. */
export function progressText(view: OperationView, elapsedMs: number, lines: number | null): string {
  const tasks = view.tasks ?? [];
  const done = tasks.filter((task) => isTerminal(task.status)).length;
  const stored = lines === null ? '' : ` · ${lines} line${lines === 1 ? '' : 's'} stored`;
  return `operation ${view.id.slice(0, 8)} ${view.status} · tasks ${done}/${tasks.length} · ${formatDuration(elapsedMs)}${stored}`;
}

/**
 * Waits until the operation ends, or `timeoutMs` passes (then `ended` is false). Reads it when
 * the backend's watch tells of a change, and at least every `watch.pollMs`; on a terminal, a
 * progress line on stderr is redrawn every second.
 */
export async function waitForEnd(
  operations: Operations,
  id: string,
  timeoutMs: number | undefined,
  progress = new ProgressLine(),
): Promise<WaitResult> {
  const started = Date.now();
  const deadline = timeoutMs === undefined ? Infinity : started + timeoutMs;
  let view = await operations.get(id);
  if (isTerminal(view.status)) return { view, ended: true };
  const watch = await operations.watch(id, { lines: progress.enabled });
  try {
    let readAt = Date.now();
    let lines = progress.enabled ? await watch.linesStored() : null;
    let linesAt = Date.now();
    let linesDue = false;
    for (;;) {
      if (isTerminal(view.status)) return { view, ended: true };
      const now = Date.now();
      if (now >= deadline) return { view, ended: false };
      progress.draw(progressText(view, now - started, lines));
      const ms = Math.min(deadline - now, progress.enabled ? PROGRESS_MS : Infinity);
      const event = await watch.next(ms);
      if (event === 'lines') linesDue = true;
      if (event === 'status' || Date.now() - readAt >= watch.pollMs) {
        view = await operations.get(id);
        readAt = Date.now();
        linesDue = true;
      }
      // the stored count at most once a second, however often the relay commits
      if (progress.enabled && linesDue && Date.now() - linesAt >= PROGRESS_MS) {
        lines = await watch.linesStored();
        linesAt = Date.now();
        linesDue = false;
      }
    }
  } finally {
    progress.clear();
    await watch.close();
  }
}
