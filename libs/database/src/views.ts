import type { CatalogueTask } from '@app/catalogue';
import type { LogStream, OperationStatus } from '@app/contracts';

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
  params: Record<string, unknown>;
  status: OperationStatus;
  reason: string | null;
  exitCode: number | null;
  dispatcherId: string | null;
  lineCount: number | null;
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
}

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

function duration(started: Date | null, finished: Date | null): number | null {
  return started && finished ? finished.getTime() - started.getTime() : null;
}

export function toOperationView(row: OperationRow, tasks?: TaskRow[]): OperationView {
  const view: OperationView = {
    id: row.id,
    type: row.type,
    target: row.target,
    pool: row.pool,
    params: row.params,
    status: row.status,
    reason: row.reason,
    exitCode: row.exit_code,
    dispatcherId: row.dispatcher_id,
    lineCount: row.line_count === null ? null : Number(row.line_count),
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
  };
}
