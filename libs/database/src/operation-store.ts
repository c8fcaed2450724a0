import { Injectable } from '@nestjs/common';
import type { OperationPlan } from '@app/catalogue';
import type { OperationStatus } from '@app/contracts';
import { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor, UUID_PATTERN, type CursorKey } from './cursor';
import {
  OperationStateRepository,
  type CreateOptions,
  type RetryOptions,
} from './operation-state.repository';
import {
  toLogLineView,
  toOperationView,
  type LogLineRow,
  type LogLineView,
  type OperationRow,
  type OperationView,
  type TaskRow,
} from './operation-views';

/** A row as json_agg gives it: timestamps as text. */
type JsonRow<T> = { [K in keyof T]: T[K] extends Date | null ? string | null : T[K] };

export interface OperationFilter {
  status?: OperationStatus;
  type?: string;
  target?: string;
  /** Who created it: `token:<name>`, `console:<user>`, `relay`. */
  createdBy?: string;
  /** Created at or after this time (ISO 8601; a date alone is UTC midnight). */
  since?: string;
  /** Created before this time. */
  until?: string;
  limit: number;
  /** From a previous page's `nextCursor`; a cursor that does not decode throws BadCursorError. */
  cursor?: string;
  /** Only the operations this accepts (a token's scope); the others are not listed. */
  accept?: (operation: { type: string; target: string }) => boolean;
}

export interface OperationPage {
  items: OperationView[];
  nextCursor: string | null;
}

/** Where an operation stands, for followers of its log. */
export interface OperationProgress {
  status: OperationStatus;
  lineCount: number | null;
  type: string;
  target: string;
}

/** A task as a follower of the live log sees it change. */
export interface FollowedTask {
  id: string;
  name: string;
  status: OperationStatus;
  exitCode: number | null;
  reason: string | null;
}

/** What a follower of one operation's live log is told when it changes (a `status` event). */
export interface FollowState {
  status: OperationStatus;
  reason: string | null;
  exitCode: number | null;
  cancelRequestedAt: string | null;
  lineCount: number | null;
  linesStored: number | null;
  complete: boolean | null;
  tasks: FollowedTask[];
  type: string;
  target: string;
}

/** About how many bytes of line text one log page holds, unless the caller asks for less. */
export const MAX_LOG_PAGE_BYTES = 1024 * 1024;
/** What a line costs on a page besides its text (seq, stream, time, keys): counted too. */
const LINE_OVERHEAD_BYTES = 100;

export const DEFAULT_CANCEL_REASON = 'cancelled by request';
export const MAX_CANCEL_REASON_LENGTH = 500;

/** Everything a view shows, read from `operations o`. */
const OPERATION_COLUMNS = `o.id, o.type, o.target, o.pool, o.params, o.status, o.reason, o.exit_code,
  o.dispatcher_id, o.line_count, o.lines_stored, o.attempt, o.retry_of, o.exclusive,
  o.cancel_requested_at, o.created_at, o.dispatched_at, o.started_at, o.finished_at,
  o.created_by, o.cancelled_by, o.retried_by AS retry_requested_by,
  (SELECT r.id FROM operations r WHERE r.retry_of = o.id) AS retried_by`;

type ListedRow = OperationRow & { created_key: string };

/** Rows read per round trip, and at most per page, when a list is filtered by `accept`. */
const SCAN_CHUNK = 200;
const MAX_SCANNED = 2000;

/** created_at to the microsecond, for the keyset cursor. */
const CREATED_KEY = `to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Reads operations, their tasks and their logs; creates, cancels and retries them through
 * the OperationStateRepository, which owns every change of status. What the api, the
 * console and the relay share.
 */
@Injectable()
export class OperationStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly state: OperationStateRepository,
  ) {}

  /**
   * Inserts the operation, its tasks and its dispatch outbox row in one transaction,
   * and wakes the relay when that transaction commits.
   */
  async create(plan: OperationPlan, options: CreateOptions = {}): Promise<OperationView> {
    return this.mustGet(await this.state.create(plan, options));
  }

  /**
   * Cancels an operation (see OperationStateRepository.cancel). Null when the operation
   * does not exist; ConflictError when it has already ended.
   */
  async cancel(
    id: string,
    reason = DEFAULT_CANCEL_REASON,
    actor: string | null = null,
  ): Promise<OperationView | null> {
    if (reason.length === 0 || reason.length > MAX_CANCEL_REASON_LENGTH) {
      throw new RangeError(`reason must be 1 to ${MAX_CANCEL_REASON_LENGTH} characters`);
    }
    const outcome = await this.state.cancel(id, reason, actor);
    return outcome === 'not-found' ? null : this.mustGet(id);
  }

  /**
   * Starts a new attempt of an operation that ended without succeeding (see
   * OperationStateRepository.retry) and returns it. Null when the operation does not exist;
   * ConflictError when it may not be retried.
   */
  async retry(id: string, options: RetryOptions = {}): Promise<OperationView | null> {
    const attempt = await this.state.retry(id, options);
    return attempt === null ? null : this.mustGet(attempt.id);
  }

  /**
   * Newest first, keyset-paginated on (created_at, id). With `accept` (a token's scope), only
   * the operations it accepts are listed; a page then reads at most MAX_SCANNED rows, and may
   * end short of `limit` with a cursor to go on.
   */
  async list(filter: OperationFilter): Promise<OperationPage> {
    const accept = filter.accept ?? (() => true);
    const chunk = filter.accept ? Math.max(filter.limit + 1, SCAN_CHUNK) : filter.limit + 1;
    const items: ListedRow[] = [];
    let cursor = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    let scanned = 0;
    for (;;) {
      const rows = await this.listRows(filter, cursor, chunk);
      for (const row of rows) {
        scanned++;
        if (!accept(row)) continue;
        items.push(row);
        if (items.length > filter.limit) return this.page(items.slice(0, filter.limit), true);
      }
      const last = rows[rows.length - 1];
      if (rows.length < chunk || !last) return this.page(items, false);
      cursor = { createdAt: last.created_key, id: last.id };
      if (scanned >= MAX_SCANNED) {
        return {
          items: items.map((row) => toOperationView(row)),
          nextCursor: encodeCursor(cursor),
        };
      }
    }
  }

  private page(rows: ListedRow[], more: boolean): OperationPage {
    const last = rows[rows.length - 1];
    return {
      items: rows.map((row) => toOperationView(row)),
      nextCursor: more && last ? encodeCursor({ createdAt: last.created_key, id: last.id }) : null,
    };
  }

  private async listRows(
    filter: OperationFilter,
    cursor: CursorKey | undefined,
    limit: number,
  ): Promise<ListedRow[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (condition: (n: string) => string, value: unknown) => {
      values.push(value);
      where.push(condition(`$${values.length}`));
    };
    if (filter.status !== undefined) add((n) => `o.status = ${n}`, filter.status);
    if (filter.type !== undefined) add((n) => `o.type = ${n}`, filter.type);
    if (filter.target !== undefined) add((n) => `o.target = ${n}`, filter.target);
    if (filter.createdBy !== undefined) add((n) => `o.created_by = ${n}`, filter.createdBy);
    // read by JavaScript, not by the session's time zone
    if (filter.since !== undefined) {
      add((n) => `o.created_at >= ${n}::timestamptz`, new Date(filter.since).toISOString());
    }
    if (filter.until !== undefined) {
      add((n) => `o.created_at < ${n}::timestamptz`, new Date(filter.until).toISOString());
    }
    if (cursor !== undefined) {
      values.push(cursor.createdAt, cursor.id);
      where.push(
        `(o.created_at, o.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`,
      );
    }
    values.push(limit);
    return this.dataSource.query(
      `SELECT ${OPERATION_COLUMNS}, ${CREATED_KEY} AS created_key
         FROM operations o
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT $${values.length}`,
      values,
    );
  }

  /** One operation with its tasks in order, or null. */
  async get(id: string): Promise<OperationView | null> {
    if (!UUID_PATTERN.test(id)) return null;
    // One round trip: the tasks come along as JSON (their times as text).
    const [row]: (OperationRow & { tasks: JsonRow<TaskRow>[] })[] = await this.dataSource.query(
      `SELECT ${OPERATION_COLUMNS},
              (SELECT coalesce(json_agg(t ORDER BY t.position), '[]')
                 FROM (SELECT id, position, name, runner, status, exit_code, reason, started_at,
                              finished_at
                         FROM tasks WHERE operation_id = o.id) t) AS tasks
         FROM operations o WHERE o.id = $1`,
      [id],
    );
    if (!row) return null;
    const tasks = row.tasks.map((task) => ({
      ...task,
      started_at: task.started_at === null ? null : new Date(task.started_at),
      finished_at: task.finished_at === null ? null : new Date(task.finished_at),
    }));
    return toOperationView(row, tasks);
  }

  /** Status, announced line count, type and target, or null when the operation does not exist. */
  async progress(id: string): Promise<OperationProgress | null> {
    if (!UUID_PATTERN.test(id)) return null;
    const [row]: {
      status: OperationStatus;
      line_count: string | null;
      type: string;
      target: string;
    }[] = await this.dataSource.query(
      `SELECT status, line_count, type, target FROM operations WHERE id = $1`,
      [id],
    );
    if (!row) return null;
    return {
      status: row.status,
      lineCount: row.line_count === null ? null : Number(row.line_count),
      type: row.type,
      target: row.target,
    };
  }

  /** The operation's status and its tasks', in one round trip; null when it does not exist. */
  async followState(id: string): Promise<FollowState | null> {
    return (await this.followStates([id])).get(id) ?? null;
  }

  /** `followState` of several operations in one round trip; those that do not exist are absent. */
  async followStates(ids: readonly string[]): Promise<Map<string, FollowState>> {
    const valid = ids.filter((id) => UUID_PATTERN.test(id));
    const states = new Map<string, FollowState>();
    if (valid.length === 0) return states;
    const rows: {
      id: string;
      status: OperationStatus;
      reason: string | null;
      exit_code: number | null;
      cancel_requested_at: Date | null;
      line_count: string | null;
      lines_stored: string | null;
      type: string;
      target: string;
      tasks: FollowedTask[];
    }[] = await this.dataSource.query(
      `SELECT o.id, o.status, o.reason, o.exit_code, o.cancel_requested_at, o.line_count,
              o.lines_stored, o.type, o.target,
              (SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name,
                        'status', t.status, 'exitCode', t.exit_code, 'reason', t.reason)
                        ORDER BY t.position), '[]')
                 FROM tasks t WHERE t.operation_id = o.id) AS tasks
         FROM operations o WHERE o.id = ANY($1::uuid[])`,
      [valid],
    );
    for (const row of rows) {
      const lineCount = row.line_count === null ? null : Number(row.line_count);
      const linesStored = row.lines_stored === null ? null : Number(row.lines_stored);
      states.set(row.id, {
        status: row.status,
        reason: row.reason,
        exitCode: row.exit_code,
        cancelRequestedAt: row.cancel_requested_at?.toISOString() ?? null,
        lineCount,
        linesStored,
        complete: lineCount === null || linesStored === null ? null : lineCount === linesStored,
        tasks: row.tasks,
        type: row.type,
        target: row.target,
      });
    }
    return states;
  }

  /** The highest seq stored for the operation, 0 when it has none (the key's index answers). */
  async lastSeq(id: string): Promise<number> {
    const [row]: { seq: string | null }[] = await this.dataSource.query(
      `SELECT max(seq) AS seq FROM log_lines WHERE operation_id = $1`,
      [id],
    );
    return row?.seq ? Number(row.seq) : 0;
  }

  /** These operations (without their tasks), in one round trip; those that do not exist are left out. */
  async getMany(ids: readonly string[]): Promise<OperationView[]> {
    const valid = ids.filter((id) => UUID_PATTERN.test(id));
    if (valid.length === 0) return [];
    const rows: OperationRow[] = await this.dataSource.query(
      `SELECT ${OPERATION_COLUMNS} FROM operations o WHERE o.id = ANY($1::uuid[])`,
      [valid],
    );
    return rows.map((row) => toOperationView(row));
  }

  /**
   * Lines with seq > after, in seq order: at most `limit` of them, and no more once their
   * text (plus a little per line) reaches `maxBytes`, so a page is at most `maxBytes` and one
   * line. Asking again with `after` = its last seq continues exactly there. Null when the
   * operation does not exist.
   */
  async logAfter(
    id: string,
    after: number,
    limit: number,
    maxBytes = MAX_LOG_PAGE_BYTES,
  ): Promise<LogLineView[] | null> {
    if (!UUID_PATTERN.test(id)) return null;
    const lines = await this.linesAfter(id, after, limit, maxBytes);
    if (lines.length === 0) {
      const [exists]: unknown[] = await this.dataSource.query(
        `SELECT 1 FROM operations WHERE id = $1`,
        [id],
      );
      if (!exists) return null;
    }
    return lines;
  }

  /**
   * The page of `logAfter` of an operation known to exist (a live log's feed): one query,
   * and an empty page says only that no line came yet.
   */
  async linesAfter(
    id: string,
    after: number,
    limit: number,
    maxBytes = MAX_LOG_PAGE_BYTES,
  ): Promise<LogLineView[]> {
    return (await this.linesAfterMany([{ id, after }], limit, maxBytes)).get(id) ?? [];
  }

  /**
   * `linesAfter` of several operations, each after its own seq, in one round trip: a page of
   * each (at most `limit` lines and about `maxBytes`), by operation id.
   */
  async linesAfterMany(
    cursors: readonly { id: string; after: number }[],
    limit: number,
    maxBytes = MAX_LOG_PAGE_BYTES,
  ): Promise<Map<string, LogLineView[]>> {
    const pages = new Map<string, LogLineView[]>();
    if (cursors.length === 0) return pages;
    // `before`: the bytes of the page before this line. octet_length reads a TOASTed line's
    // size without fetching it, and lines past the bound are never sent.
    const rows: (LogLineRow & { operation_id: string })[] = await this.dataSource.query(
      `SELECT c.id AS operation_id, p.seq, p.task_id, p.stream, p.line, p.emitted_at, p.continues
         FROM unnest($1::uuid[], $2::bigint[]) AS c(id, after)
         CROSS JOIN LATERAL (
           SELECT seq, task_id, stream, line, emitted_at, continues
             FROM (SELECT seq, task_id, stream, line, emitted_at, continues,
                          sum(octet_length(line) + ${LINE_OVERHEAD_BYTES})
                            OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING)
                            - (octet_length(line) + ${LINE_OVERHEAD_BYTES}) AS before
                     FROM log_lines
                    WHERE operation_id = c.id AND seq > c.after
                    ORDER BY seq
                    LIMIT $3) page
            WHERE before < $4) p
        ORDER BY c.id, p.seq`,
      [cursors.map((c) => c.id), cursors.map((c) => c.after), limit, maxBytes],
    );
    for (const row of rows) {
      const page = pages.get(row.operation_id);
      if (page) page.push(toLogLineView(row));
      else pages.set(row.operation_id, [toLogLineView(row)]);
    }
    return pages;
  }

  private async mustGet(id: string): Promise<OperationView> {
    const view = await this.get(id);
    if (!view) throw new Error(`operation ${id} vanished after it was written`);
    return view;
  }
}
