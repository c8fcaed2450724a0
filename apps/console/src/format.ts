import type { DispatcherView, OperationView } from '@app/database';
import { printable } from './dead-letters';

/** `2025-11-30 17:20:44Z`, or `-`. */
export function formatTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : '-';
}

/** `850ms`, `12.3s`, `4m05s`, `2h03m`, or `-`. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const wholeSeconds = Math.floor(seconds);
  const minutes = Math.floor(wholeSeconds / 60);
  if (minutes < 60) return `${minutes}m${String(wholeSeconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** `failed (exit 3): task second exited with 3`. */
export function formatStatus(view: {
  status: string;
  exitCode: number | null;
  reason: string | null;
}): string {
  const exit = view.exitCode === null ? '' : ` (exit ${view.exitCode})`;
  return `${view.status}${exit}${view.reason ? `: ${view.reason}` : ''}`;
}

export function operationsTable(items: OperationView[]): string {
  return table(
    ['ID', 'TYPE', 'TARGET', 'STATUS', 'CREATED', 'DURATION'],
    items.map((op) => [
      op.id,
      op.type,
      op.target,
      op.status,
      formatTime(op.createdAt),
      formatDuration(op.durationMs),
    ]),
  );
}

/** `120 emitted, 120 stored (complete)`; `-` while neither count is known. */
export function formatLines(op: Pick<OperationView, 'lineCount' | 'linesStored'>): string {
  const { lineCount, linesStored } = op;
  if (lineCount === null && linesStored === null) return '-';
  if (lineCount === null) return `${linesStored} stored (how many were emitted is not known)`;
  if (linesStored === null) return `${lineCount} emitted`;
  if (linesStored === lineCount) return `${lineCount} emitted, ${linesStored} stored (complete)`;
  return `${lineCount} emitted, ${linesStored} stored (INCOMPLETE)`;
}

export function operationDetails(op: OperationView): string {
  const fields: [string, string][] = [
    ['operation', op.id],
    ['type', op.type],
    ['target', op.target],
    ['pool', op.pool],
    ['status', formatStatus(op)],
    ['params', JSON.stringify(op.params)],
    ['created', formatTime(op.createdAt)],
    ['dispatched', formatTime(op.dispatchedAt)],
    ['started', formatTime(op.startedAt)],
    ['finished', formatTime(op.finishedAt)],
    ['duration', formatDuration(op.durationMs)],
    ['dispatcher', op.dispatcherId ?? '-'],
    ['attempt', String(op.attempt)],
    ['retry of', op.retryOf ?? '-'],
    ['retried as', op.retriedBy ?? '-'],
    ['parallel', op.exclusive ? 'no (one at a time on its target)' : 'yes'],
    ['cancel requested', formatTime(op.cancelRequestedAt)],
    ['lines', formatLines(op)],
  ];
  const width = Math.max(...fields.map(([name]) => name.length));
  const head = fields.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n');
  const tasks = table(
    ['#', 'TASK', 'RUNNER', 'STATUS', 'EXIT', 'STARTED', 'DURATION', 'REASON'],
    (op.tasks ?? []).map((task) => [
      String(task.position),
      task.name,
      task.runner,
      task.status,
      task.exitCode === null ? '-' : String(task.exitCode),
      formatTime(task.startedAt),
      formatDuration(task.durationMs),
      task.reason ?? '',
    ]),
  );
  return `${head}\n\n${tasks}`;
}

/** `1/4` (running of its concurrency), `1` when the dispatcher does not say its concurrency. */
function formatRunning(worker: Pick<DispatcherView, 'running' | 'concurrency'>): string {
  return worker.concurrency === null
    ? String(worker.running)
    : `${worker.running}/${worker.concurrency}`;
}

/** `3f2b… (site.release on shop.example.com)`, or the id alone when it is not stored. */
function formatWorkerOperation(op: DispatcherView['operations'][number]): string {
  return op.type === null ? op.id : `${op.id} (${op.type} on ${op.target ?? '-'})`;
}

export function workersTable(items: DispatcherView[]): string {
  return table(
    ['DISPATCHER', 'POOL', 'STATE', 'RUNNING', 'LAST SEEN', 'FIRST SEEN', 'OPERATIONS'],
    items.map((worker) => [
      printable(worker.dispatcherId),
      worker.pool,
      worker.state,
      formatRunning(worker),
      `${formatDuration(Math.max(0, worker.lastSeenAgoMs))} ago`,
      formatTime(worker.firstSeenAt),
      worker.operations.map(formatWorkerOperation).map(printable).join(', ') || '-',
    ]),
  );
}
