import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { OperationPlan } from '@app/catalogue';
import {
  CONTRACT_VERSION,
  Exchanges,
  isTerminal,
  type CancelMessage,
  type DispatchMessage,
  type OperationStatus,
} from '@app/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { LOG_CHANNEL, OUTBOX_CHANNEL } from './channels';
import { decodeCursor, encodeCursor, UUID_PATTERN } from './cursor';
import { OutboxEntity } from './entities';
import { ConflictError } from './conflict-error';
import {
  toLogLineView,
  toOperationView,
  type LogLineRow,
  type LogLineView,
  type OperationRow,
  type OperationView,
  type TaskRow,
} from './operation-views';
import { isRetryable } from './status-machine';

/** A row as json_agg gives it: timestamps as text. */
type JsonRow<T> = { [K in keyof T]: T[K] extends Date | null ? string | null : T[K] };

export interface OperationFilter {
  status?: OperationStatus;
  type?: string;
  target?: string;
  limit: number;
  /** From a previous page's `nextCursor`; a cursor that does not decode throws BadCursorError. */
  cursor?: string;
}

export interface OperationPage {
  items: OperationView[];
  nextCursor: string | null;
}

/** Where an operation stands, for followers of its log. */
export interface OperationProgress {
  status: OperationStatus;
  lineCount: number | null;
}

export interface CreateOptions {
  /** The attempt this operation retries; see `retry()`, which sets it. */
  retryOf?: string;
  /** Default 1. */
  attempt?: number;
  /** Seconds before the relay may dispatch it (a retry's backoff); default 0. */
  delaySeconds?: number;
}

/** What a retry is planned from: the stored operation that ended. */
export interface RetrySource {
  id: string;
  type: string;
  target: string;
  params: Record<string, unknown>;
}

export interface RetryOptions {
  /**
   * The new attempt's plan, or a function making it from the operation retried (called only
   * once the retry is allowed). Without it the stored operation is planned again as it was:
   * same type, target, params, tasks and policies.
   */
  plan?: OperationPlan | ((original: RetrySource) => OperationPlan);
  /** Seconds before the new attempt may be dispatched; default 0. */
  delaySeconds?: number;
}

export const DEFAULT_CANCEL_REASON = 'cancelled by request';
export const MAX_CANCEL_REASON_LENGTH = 500;
/** Longest delay before a dispatch: a day, the longest retry backoff a type may ask for. */
const MAX_DELAY_SECONDS = 86400;

/** Everything a view shows, read from `operations o`. */
const OPERATION_COLUMNS = `o.id, o.type, o.target, o.pool, o.params, o.status, o.reason, o.exit_code,
  o.dispatcher_id, o.line_count, o.lines_stored, o.attempt, o.retry_of, o.exclusive,
  o.cancel_requested_at, o.created_at, o.dispatched_at, o.started_at, o.finished_at,
  (SELECT r.id FROM operations r WHERE r.retry_of = o.id) AS retried_by`;

/** created_at to the microsecond, for the keyset cursor. */
const CREATED_KEY = `to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const UNIQUE_VIOLATION = '23505';

function isRetryOfTaken(error: unknown): boolean {
  const pg = (error as { driverError?: { code?: string; constraint?: string } }).driverError;
  return pg?.code === UNIQUE_VIOLATION && pg.constraint === 'uq_operations_retry_of';
}

function checkDelay(seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_DELAY_SECONDS) {
    throw new RangeError(`delaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`);
  }
  return seconds;
}

/** Reads, creates, cancels and retries operations: what the api, the console and the relay share. */
@Injectable()
export class OperationStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Inserts the operation, its tasks and its dispatch outbox row in one transaction,
   * and wakes the relay when that transaction commits.
   */
  async create(plan: OperationPlan, options: CreateOptions = {}): Promise<OperationView> {
    const id = await this.insert(this.dataSource.manager, plan, options);
    return this.mustGet(id);
  }

  /**
   * Cancels an operation. A queued or dispatched one is cancelled here and now, with every
   * task (a dispatcher that claims it later is refused, so no task ever starts); a running
   * one gets a cancel message to its dispatcher, once, and ends `cancelled` when the
   * dispatcher reports it. Null when the operation does not exist; ConflictError when it
   * has already ended.
   */
  async cancel(id: string, reason = DEFAULT_CANCEL_REASON): Promise<OperationView | null> {
    if (reason.length === 0 || reason.length > MAX_CANCEL_REASON_LENGTH) {
      throw new RangeError(`reason must be 1 to ${MAX_CANCEL_REASON_LENGTH} characters`);
    }
    if (!UUID_PATTERN.test(id)) return null;
    // The row lock makes concurrent cancels (and the relay's status updates) take turns; NO KEY
    // UPDATE, so that the relay can still insert this operation's log lines meanwhile.
    const found = await this.dataSource.transaction(async (manager) => {
      const [row]: { status: OperationStatus; cancel_requested_at: Date | null }[] =
        await manager.query(
          `SELECT status, cancel_requested_at FROM operations WHERE id = $1 FOR NO KEY UPDATE`,
          [id],
        );
      if (!row) return false;
      if (isTerminal(row.status)) {
        throw new ConflictError(`operation ${id} is already ${row.status}`);
      }
      if (row.status === 'running') {
        if (row.cancel_requested_at === null) await this.requestCancel(manager, id, reason);
        return true;
      }
      await manager.query(
        `UPDATE operations SET status = 'cancelled', reason = $2, finished_at = now()
          WHERE id = $1`,
        [id, reason],
      );
      await manager.query(
        `UPDATE tasks SET status = 'cancelled', reason = $2, finished_at = now()
          WHERE operation_id = $1 AND status IN ('queued', 'dispatched', 'running')`,
        [id, `not run: ${reason}`],
      );
      // Followers see the end; operations waiting for the target may go now.
      await manager.query(`SELECT pg_notify($1, $2)`, [LOG_CHANNEL, id]);
      await manager.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
      return true;
    });
    return found ? this.mustGet(id) : null;
  }

  /**
   * Starts a new attempt of an operation that ended without succeeding (failed, timed_out,
   * lost, cancelled), linked to it by `retryOf`. Each attempt is retried at most once: retry
   * the retry to go on. Null when the operation does not exist; ConflictError when it may not
   * be retried (still active, succeeded, or already retried).
   */
  async retry(id: string, options: RetryOptions = {}): Promise<OperationView | null> {
    const delaySeconds = checkDelay(options.delaySeconds ?? 0);
    if (!UUID_PATTERN.test(id)) return null;
    let newId: string | null;
    // Concurrent retries take turns on the row lock, and the later one finds the retry made;
    // the unique index on retry_of still stops a writer that does not take the lock.
    try {
      newId = await this.dataSource.transaction(async (manager) => {
        const [row]: StoredOperation[] = await manager.query(
          `SELECT id, type, target, pool, params, status, attempt, exclusive, retry_limit,
                  retry_backoff_seconds
             FROM operations WHERE id = $1 FOR NO KEY UPDATE`,
          [id],
        );
        if (!row) return null;
        checkRetryable(id, row.status);
        const [retried]: { id: string }[] = await manager.query(
          `SELECT id FROM operations WHERE retry_of = $1`,
          [id],
        );
        if (retried) throw alreadyRetried(id, retried.id);
        const plan =
          typeof options.plan === 'function'
            ? options.plan({ id, type: row.type, target: row.target, params: row.params })
            : (options.plan ?? (await this.storedPlan(manager, row)));
        return this.insert(manager, plan, {
          retryOf: id,
          attempt: row.attempt + 1,
          delaySeconds,
        });
      });
    } catch (error) {
      if (!isRetryOfTaken(error)) throw error;
      // A writer that does not take the row lock committed a retry between our check and insert.
      const [retried]: { id: string }[] = await this.dataSource.query(
        `SELECT id FROM operations WHERE retry_of = $1`,
        [id],
      );
      throw alreadyRetried(id, retried?.id ?? '(unknown)');
    }
    return newId === null ? null : this.mustGet(newId);
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async list(filter: OperationFilter): Promise<OperationPage> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (condition: (n: string) => string, value: unknown) => {
      values.push(value);
      where.push(condition(`$${values.length}`));
    };
    if (filter.status !== undefined) add((n) => `o.status = ${n}`, filter.status);
    if (filter.type !== undefined) add((n) => `o.type = ${n}`, filter.type);
    if (filter.target !== undefined) add((n) => `o.target = ${n}`, filter.target);
    if (filter.cursor !== undefined) {
      const key = decodeCursor(filter.cursor);
      values.push(key.createdAt, key.id);
      where.push(
        `(o.created_at, o.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`,
      );
    }
    values.push(filter.limit + 1);

    const rows: (OperationRow & { created_key: string })[] = await this.dataSource.query(
      `SELECT ${OPERATION_COLUMNS}, ${CREATED_KEY} AS created_key
         FROM operations o
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => toOperationView(row)),
      nextCursor:
        rows.length > filter.limit && last
          ? encodeCursor({ createdAt: last.created_key, id: last.id })
          : null,
    };
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

  /** Status and announced line count, or null when the operation does not exist. */
  async progress(id: string): Promise<OperationProgress | null> {
    if (!UUID_PATTERN.test(id)) return null;
    const [row]: { status: OperationStatus; line_count: string | null }[] =
      await this.dataSource.query(`SELECT status, line_count FROM operations WHERE id = $1`, [id]);
    if (!row) return null;
    return {
      status: row.status,
      lineCount: row.line_count === null ? null : Number(row.line_count),
    };
  }

  /** Lines with seq > after, in seq order; null when the operation does not exist. */
  async logAfter(id: string, after: number, limit: number): Promise<LogLineView[] | null> {
    if (!UUID_PATTERN.test(id)) return null;
    const rows: LogLineRow[] = await this.dataSource.query(
      `SELECT seq, task_id, stream, line, emitted_at, continues
         FROM log_lines
        WHERE operation_id = $1 AND seq > $2
        ORDER BY seq
        LIMIT $3`,
      [id, after, limit],
    );
    if (rows.length === 0) {
      const [exists]: unknown[] = await this.dataSource.query(
        `SELECT 1 FROM operations WHERE id = $1`,
        [id],
      );
      if (!exists) return null;
    }
    return rows.map(toLogLineView);
  }

  private async mustGet(id: string): Promise<OperationView> {
    const view = await this.get(id);
    if (!view) throw new Error(`operation ${id} vanished after it was written`);
    return view;
  }

  /** The operation, its tasks and its dispatch outbox row; NOTIFYs the relay on commit. */
  private async insert(
    manager: EntityManager,
    plan: OperationPlan,
    options: CreateOptions,
  ): Promise<string> {
    if (plan.tasks.length === 0) {
      throw new Error(`operation type ${plan.type} has no tasks`);
    }
    const delaySeconds = checkDelay(options.delaySeconds ?? 0);
    const id = randomUUID();
    const tasks = plan.tasks.map((task, position) => ({
      id: randomUUID(),
      position,
      name: task.name,
      runner: task.runner,
    }));
    const message: DispatchMessage = {
      v: CONTRACT_VERSION,
      kind: 'dispatch',
      operationId: id,
      type: plan.type,
      target: plan.target,
      params: plan.params,
      tasks: tasks.map((task) => ({ id: task.id, name: task.name })),
      sentAt: new Date().toISOString(),
    };
    // One statement (so, alone, its own transaction): one round trip instead of five.
    // The NOTIFY is delivered by PostgreSQL only when the transaction commits.
    await manager.query(
      `WITH operation AS (
         INSERT INTO operations (id, type, target, pool, params, status, attempt, retry_of,
                                 retry_limit, retry_backoff_seconds, exclusive)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10)
       ), task AS (
         INSERT INTO tasks (id, operation_id, position, name, runner, status)
         SELECT t.id, $1, t.position, t.name, t.runner, 'queued'
           FROM unnest($11::uuid[], $12::int[], $13::text[], $14::text[])
                  AS t(id, position, name, runner)
       ), outbox_row AS (
         INSERT INTO outbox (kind, operation_id, exchange, routing_key, payload, available_at)
         VALUES ('dispatch', $1, $15, $4, $16, now() + make_interval(secs => $17))
       )
       SELECT pg_notify($18, '')`,
      [
        id,
        plan.type,
        plan.target,
        plan.pool,
        plan.params,
        options.attempt ?? 1,
        options.retryOf ?? null,
        plan.retry.attempts,
        plan.retry.backoffSeconds,
        plan.exclusive,
        tasks.map((task) => task.id),
        tasks.map((task) => task.position),
        tasks.map((task) => task.name),
        tasks.map((task) => task.runner),
        Exchanges.dispatch,
        message,
        delaySeconds,
        OUTBOX_CHANNEL,
      ],
    );
    return id;
  }

  /** Marks the cancel as requested and queues the message to the dispatchers. */
  private async requestCancel(manager: EntityManager, id: string, reason: string): Promise<void> {
    await manager.query(`UPDATE operations SET cancel_requested_at = now() WHERE id = $1`, [id]);
    const message: CancelMessage = {
      v: CONTRACT_VERSION,
      kind: 'cancel',
      operationId: id,
      reason,
      sentAt: new Date().toISOString(),
    };
    await manager.insert(OutboxEntity, {
      kind: 'cancel',
      operationId: id,
      exchange: Exchanges.control,
      routingKey: '',
      payload: message,
    });
    await manager.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
  }

  /** The plan an operation was created with, rebuilt from its row and its tasks. */
  private async storedPlan(manager: EntityManager, row: StoredOperation): Promise<OperationPlan> {
    const tasks: { name: string; runner: OperationPlan['tasks'][number]['runner'] }[] =
      await manager.query(
        `SELECT name, runner FROM tasks WHERE operation_id = $1 ORDER BY position`,
        [row.id],
      );
    return {
      type: row.type,
      pool: row.pool,
      target: row.target,
      params: row.params,
      tasks,
      exclusive: row.exclusive,
      retry: { attempts: row.retry_limit, backoffSeconds: row.retry_backoff_seconds },
    };
  }
}

/** The columns of an operation that a retry needs. */
interface StoredOperation {
  id: string;
  type: string;
  target: string;
  pool: string;
  params: Record<string, unknown>;
  status: OperationStatus;
  attempt: number;
  exclusive: boolean;
  retry_limit: number;
  retry_backoff_seconds: number;
}

function alreadyRetried(id: string, retryId: string): ConflictError {
  return new ConflictError(
    `operation ${id} has already been retried as ${retryId}; retry that one to go on`,
  );
}

/** Throws the ConflictError for an operation that may not be retried from this status. */
function checkRetryable(id: string, status: OperationStatus): void {
  if (!isRetryable(status)) {
    throw new ConflictError(
      `operation ${id} is ${status}; only a failed, timed_out, lost or cancelled operation can be retried`,
    );
  }
}
