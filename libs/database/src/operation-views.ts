import type { CatalogueTask } from '@app/catalogue';
import { maskSealedParams, type LogStream, type OperationStatus } from '@app/contracts';

/** What clients see of a task: camelCase, ISO timestamps, numbers. */
export interface TaskView {
  id: string;
  position: number;
  name: string;
  runner: CatalogueTask['runner'];
  status: OperationStatus;
  exitCode: number | null;
  reason: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
}

/** What clients see of an operation. `tasks` is present when one operation is read. */
export interface OperationView {
  id: string;
  type: string;
  target: string;
  pool: string;
  /** As stored, but every secret (sealed) param shown as `********`. */
  params: Record<string, unknown>;
  status: OperationStatus;
  reason: string | null;
  exitCode: number | null;
  dispatcherId: string | null;
  /** How many lines the operation emitted, as its dispatcher reported with the final status. */
  lineCount: number | null;
  /** How many of them the relay had stored when the final status arrived. */
  linesStored: number | null;
  /** Every emitted line was stored (linesStored === lineCount); null until both are known. */
  complete: boolean | null;
  /** 1, or one more than the attempt it retries. */
  attempt: number;
  /** The attempt this one retries, or null. */
  retryOf: string | null;
  /** The attempt that retries this one, or null. */
  retriedBy: string | null;
  /** One at a time per target (the type is not `parallel`). */
  exclusive: boolean;
  /** When a cancel was sent to the dispatcher running it; null if none was. */
  cancelRequestedAt: string | null;
  /** Who created it: `token:<name>`, `console:<os user>`, `relay` (an automatic retry). */
  createdBy: string | null;
  /** Who cancelled it (or asked its dispatcher to stop it). */
  cancelledBy: string | null;
  /** Who retried it; `retriedBy` is the attempt that retry made. */
  retryRequestedBy: string | null;
  createdAt: string;
  dispatchedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  tasks?: TaskView[];
}

export interface LogLineView {
  seq: number;
  taskId: string | null;
  stream: LogStream;
  text: string;
  at: string;
  /** A piece of a line longer than the dispatcher's limit: the next line continues it. */
  continues: boolean;
}

/** Rows as the pg driver returns them: timestamptz as Date, bigint as string. */
export interface OperationRow {
  id: string;
  type: string;
  target: string;
  pool: string;
  params: Record<string, unknown>;
  status: OperationStatus;
  reason: string | null;
  exit_code: number | null;
  dispatcher_id: string | null;
  line_count: string | null;
  lines_stored: string | null;
  attempt: number;
  retry_of: string | null;
  retried_by: string | null;
  exclusive: boolean;
  cancel_requested_at: Date | null;
  created_by: string | null;
  cancelled_by: string | null;
  retry_requested_by: string | null;
  created_at: Date;
  dispatched_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface TaskRow {
  id: string;
  position: number;
  name: string;
  runner: CatalogueTask['runner'];
  status: OperationStatus;
  exit_code: number | null;
  reason: string | null;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface LogLineRow {
  seq: string;
  task_id: string | null;
  stream: LogStream;
  line: string;
  emitted_at: Date;
  continues: boolean;
}

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

const count = (value: string | null): number | null => (value === null ? null : Number(value));

function duration(started: Date | null, finished: Date | null): number | null {
  return started && finished ? finished.getTime() - started.getTime() : null;
}

export function toOperationView(row: OperationRow, tasks?: TaskRow[]): OperationView {
  const view: OperationView = {
    id: row.id,
    type: row.type,
    target: row.target,
    pool: row.pool,
    params: maskSealedParams(row.params),
    status: row.status,
    reason: row.reason,
    exitCode: row.exit_code,
    dispatcherId: row.dispatcher_id,
    lineCount: count(row.line_count),
    linesStored: count(row.lines_stored),
    complete:
      row.line_count === null || row.lines_stored === null
        ? null
        : Number(row.lines_stored) === Number(row.line_count),
    attempt: row.attempt,
    retryOf: row.retry_of,
    retriedBy: row.retried_by,
    exclusive: row.exclusive,
    cancelRequestedAt: iso(row.cancel_requested_at),
    createdBy: row.created_by,
    cancelledBy: row.cancelled_by,
    retryRequestedBy: row.retry_requested_by,
    createdAt: row.created_at.toISOString(),
    dispatchedAt: iso(row.dispatched_at),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: duration(row.started_at, row.finished_at),
  };
  if (tasks) view.tasks = tasks.map(toTaskView);
  return view;
}

export function toTaskView(row: TaskRow): TaskView {
  return {
    id: row.id,
    position: row.position,
    name: row.name,
    runner: row.runner,
    status: row.status,
    exitCode: row.exit_code,
    reason: row.reason,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: duration(row.started_at, row.finished_at),
  };
}

export function toLogLineView(row: LogLineRow): LogLineView {
  return {
    seq: Number(row.seq),
    taskId: row.task_id,
    stream: row.stream,
    text: row.line,
    at: row.emitted_at.toISOString(),
    continues: row.continues,
  };
}
