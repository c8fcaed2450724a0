import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { OperationPlan } from '@app/catalogue';
import {
  CONTRACT_VERSION,
  Exchanges,
  type DispatchMessage,
  type OperationStatus,
} from '@app/contracts';
import { DataSource } from 'typeorm';
import { OUTBOX_CHANNEL } from './channels';
import { decodeCursor, encodeCursor, UUID_PATTERN } from './cursor';
import { OperationEntity, OutboxEntity, TaskEntity } from './entities';
import {
  toLogLineView,
  toOperationView,
  type LogLineRow,
  type LogLineView,
  type OperationRow,
  type OperationView,
  type TaskRow,
} from './views';

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

const OPERATION_COLUMNS = `id, type, target, pool, params, status, reason, exit_code, dispatcher_id,
  line_count, created_at, dispatched_at, started_at, finished_at`;

/** created_at to the microsecond, for the keyset cursor. */
const CREATED_KEY = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Reads and creates operations: what the api and the console share. */
@Injectable()
export class OperationStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Inserts the operation, its tasks and its dispatch outbox row in one transaction,
   * and wakes the relay when that transaction commits.
   */
  async create(plan: OperationPlan): Promise<OperationView> {
    if (plan.tasks.length === 0) {
      throw new Error(`operation type ${plan.type} has no tasks`);
    }
    const id = randomUUID();
    const tasks = plan.tasks.map((task, position) => ({
      id: randomUUID(),
      operationId: id,
      position,
      name: task.name,
      runner: task.runner,
      status: 'queued' as const,
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

    await this.dataSource.transaction(async (manager) => {
      await manager.insert(OperationEntity, {
        id,
        type: plan.type,
        target: plan.target,
        pool: plan.pool,
        params: plan.params,
        status: 'queued',
      });
      await manager.insert(TaskEntity, tasks);
      await manager.insert(OutboxEntity, {
        kind: 'dispatch',
        operationId: id,
        exchange: Exchanges.dispatch,
        routingKey: plan.pool,
        payload: message,
      });
      // Delivered by PostgreSQL only when the transaction commits.
      await manager.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
    });

    const view = await this.get(id);
    if (!view) throw new Error(`operation ${id} vanished after it was created`);
    return view;
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async list(filter: OperationFilter): Promise<OperationPage> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (condition: (n: string) => string, value: unknown) => {
      values.push(value);
      where.push(condition(`$${values.length}`));
    };
    if (filter.status !== undefined) add((n) => `status = ${n}`, filter.status);
    if (filter.type !== undefined) add((n) => `type = ${n}`, filter.type);
    if (filter.target !== undefined) add((n) => `target = ${n}`, filter.target);
    if (filter.cursor !== undefined) {
      const key = decodeCursor(filter.cursor);
      values.push(key.createdAt, key.id);
      where.push(
        `(created_at, id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`,
      );
    }
    values.push(filter.limit + 1);

    const rows: (OperationRow & { created_key: string })[] = await this.dataSource.query(
      `SELECT ${OPERATION_COLUMNS}, ${CREATED_KEY} AS created_key
         FROM operations
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC
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
    const [row]: OperationRow[] = await this.dataSource.query(
      `SELECT ${OPERATION_COLUMNS} FROM operations WHERE id = $1`,
      [id],
    );
    if (!row) return null;
    const tasks: TaskRow[] = await this.dataSource.query(
      `SELECT id, position, name, runner, status, exit_code, reason, started_at, finished_at
         FROM tasks WHERE operation_id = $1 ORDER BY position`,
      [id],
    );
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
      `SELECT seq, task_id, stream, line, emitted_at
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
}
