import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { OperationPlan } from '@app/catalogue';
import {
  CONTRACT_VERSION,
  Exchanges,
  isTerminal,
  OPERATION_STATUSES,
  type CancelMessage,
  type ClaimMessage,
  type ClaimResultMessage,
  type DispatchMessage,
  type HeartbeatMessage,
  type OperationStatus,
  type StatusMessage,
} from '@app/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { LOG_CHANNEL, OUTBOX_CHANNEL, STATUS_CHANNEL } from './channels';
import { ConflictError } from './conflict-error';
import { UUID_PATTERN } from './cursor';
import { OutboxEntity, type OutboxKind } from './entities';
import { isRetryable, statusesBefore } from './status-machine';

export interface CreateOptions {
  /** The attempt this operation retries; see `retry()`, which sets it. */
  retryOf?: string;
  /** Default 1. */
  attempt?: number;
  /** Seconds before the relay may dispatch it (a retry's backoff); default 0. */
  delaySeconds?: number;
  /** Who creates it (`token:<name>`, `console:<user>`, `relay`): recorded as created_by. */
  actor?: string | null;
}

/** A claim for an operation of another pool than the claimant's: refused, not answered. */
export interface ClaimOfAnotherPool {
  kind: 'another-pool';
  /** The operation's own pool. */
  pool: string;
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
  /** Who retries: the original's retried_by and the new attempt's created_by. */
  actor?: string | null;
}

/** The new attempt a retry created. */
export interface RetryAttempt {
  id: string;
  attempt: number;
}

/**
 * What a cancel did: `cancelled` (it had not started: it ended here, with its tasks),
 * `requested` (it runs: its dispatcher was asked to stop it, once), or `not-found`.
 */
export type CancelOutcome = 'cancelled' | 'requested' | 'not-found';

/** An outbox row claimed for publishing, with the status of its operation. */
export interface PendingOutboxRow {
  id: string;
  kind: OutboxKind;
  operation_id: string;
  exchange: string;
  routing_key: string;
  payload: object;
  attempts: number;
  operation_status: OperationStatus;
}

/** How the unfinished tasks of an operation that ended are ended. */
export interface TaskEnding {
  status: 'lost' | 'cancelled';
  reason: string;
  /** When they ended; default the transaction's now(). */
  at?: string;
}

export interface LostOperation {
  id: string;
  reason: string;
  type: string;
}

/** An operation that reached a terminal status in `applyStatus` (for the relay's metrics). */
export interface EndedOperation {
  type: string;
  status: OperationStatus;
}

/** A claim granted for the first time: the operation started, `waitedSeconds` after it was created. */
export interface StartedOperation {
  type: string;
  waitedSeconds: number;
}

export interface LostRetryDue {
  id: string;
  /** The type's retry backoff, in seconds. */
  backoffSeconds: number;
}

/**
 * RELAY_LOST_AFTER_MS by default: a running operation whose dispatcher is silent this long
 * is `lost`, and a dispatcher not heard from for as long is shown `silent`.
 */
export const DEFAULT_LOST_AFTER_MS = 60_000;

/** Longest delay before a dispatch: a day, the longest retry backoff a type may ask for. */
const MAX_DELAY_SECONDS = 86400;

/** Seconds before an outbox row whose publish failed is tried again: 1, 2, 4, 8, then every 10. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(2 ** Math.max(attempts - 1, 0), 10);
}

/**
 * Statuses as a list of SQL literals, written into the statement rather than bound: the
 * planner can then match the partial indexes on status. The words come from the contracts.
 */
const inList = (statuses: readonly OperationStatus[]): string =>
  statuses.map((status) => `'${status}'`).join(', ');

/** An operation or task that has not ended. */
const UNFINISHED = inList(OPERATION_STATUSES.filter((status) => !isTerminal(status)));
/** What a dispatcher may claim: not yet running (or running on it, when it asks again). */
const CLAIMABLE = inList(statusesBefore('running'));
/** What a published dispatch moves on. */
const DISPATCHABLE = inList(statusesBefore('dispatched'));
/** What a cancel ends at once, without asking a dispatcher. */
const CANCELLABLE = inList(statusesBefore('cancelled'));

/**
 * Outbox rows ready to go, oldest first. A dispatch of an operation that wants its target
 * to itself waits while another such operation on that target is dispatched or running,
 * or is older and still queued: one at a time per target, in order.
 */
const CLAIM_OUTBOX_ROWS = `
  SELECT o.id, o.kind, o.operation_id, o.exchange, o.routing_key, o.payload, o.attempts,
         op.status AS operation_status
    FROM outbox o JOIN operations op ON op.id = o.operation_id
   WHERE o.published_at IS NULL AND o.available_at <= now()
     AND (o.kind <> 'dispatch' OR op.status <> 'queued' OR NOT op.exclusive OR NOT EXISTS (
           SELECT 1 FROM operations other
            WHERE other.target = op.target AND other.exclusive AND other.id <> op.id
              AND (other.status IN ('dispatched', 'running')
                   OR (other.status = 'queued'
                       AND (other.created_at, other.id) < (op.created_at, op.id)))))
   ORDER BY o.id
   LIMIT $1
   FOR UPDATE OF o SKIP LOCKED`;

const UNIQUE_VIOLATION = '23505';

/**
 * Every change of an operation's or a task's status, and the outbox bookkeeping that goes
 * with it: created (queued), dispatched, claimed (running), a dispatcher's status events,
 * heartbeats, lost, cancelled, retried. Statuses only move forward (see status-machine.ts);
 * an operation that ends takes its unfinished tasks with it and wakes the outbox, in one
 * place: `endUnfinishedTasks`.
 *
 * Methods that take an EntityManager run in the caller's transaction (the relay writes a
 * batch's lines and statuses in one); the others open their own.
 */
@Injectable()
export class OperationStateRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Inserts a queued operation, its tasks and its dispatch outbox row, and wakes the relay
   * when the transaction commits. Returns the new operation's id.
   */
  async create(
    plan: OperationPlan,
    options: CreateOptions = {},
    manager: EntityManager = this.dataSource.manager,
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
    // The NOTIFYs are delivered by PostgreSQL only when the transaction commits. (The id goes
    // to pg_notify as a parameter of its own: $1 is typed uuid by the INSERT.)
    await manager.query(
      `WITH operation AS (
         INSERT INTO operations (id, type, target, pool, params, status, attempt, retry_of,
                                 retry_limit, retry_backoff_seconds, exclusive, created_by)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10, $19)
       ), task AS (
         INSERT INTO tasks (id, operation_id, position, name, runner, status)
         SELECT t.id, $1, t.position, t.name, t.runner, 'queued'
           FROM unnest($11::uuid[], $12::int[], $13::text[], $14::text[])
                  AS t(id, position, name, runner)
       ), outbox_row AS (
         INSERT INTO outbox (kind, operation_id, exchange, routing_key, payload, available_at)
         VALUES ('dispatch', $1, $15, $4, $16, now() + make_interval(secs => $17))
       )
       SELECT pg_notify($18, ''), pg_notify($20, $21)`,
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
        options.actor ?? null,
        STATUS_CHANNEL,
        id,
      ],
    );
    return id;
  }

  /**
   * Locks up to `limit` outbox rows ready to be published (FOR UPDATE SKIP LOCKED, so that
   * relays side by side take different rows) until the caller's transaction ends.
   */
  async claimOutboxRows(manager: EntityManager, limit: number): Promise<PendingOutboxRow[]> {
    return manager.query(CLAIM_OUTBOX_ROWS, [limit]);
  }

  /**
   * The rows are done with (published, or nothing left to publish): they keep their
   * bookkeeping but lose their message, which held the params. The operations whose dispatch
   * was published move queued → dispatched, and their followers are told. One round trip.
   */
  async markPublished(
    manager: EntityManager,
    rowIds: string[],
    dispatchedOperationIds: string[],
  ): Promise<void> {
    if (rowIds.length === 0) return;
    await manager.query(
      `WITH done AS (
         UPDATE outbox SET published_at = now(), payload = '{}'::jsonb, attempts = attempts + 1,
                           last_error = NULL
          WHERE id = ANY($1::bigint[])
       ), dispatched AS (
         UPDATE operations SET status = 'dispatched', dispatched_at = now(), updated_at = now()
          WHERE id = ANY($2::uuid[]) AND status IN (${DISPATCHABLE})
          RETURNING id
       )
       SELECT pg_notify($3, id::text) FROM dispatched`,
      [rowIds, dispatchedOperationIds, STATUS_CHANNEL],
    );
  }

  /** The broker did not take the row: it stays, and is tried again after its backoff. */
  async deferOutboxRow(
    manager: EntityManager,
    row: Pick<PendingOutboxRow, 'id' | 'attempts'>,
    error: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
              available_at = now() + make_interval(secs => $3)
        WHERE id = $1`,
      [row.id, error, retryDelaySeconds(row.attempts + 1)],
    );
  }

  /**
   * Decides which dispatcher runs an operation. A claim is granted only while the
   * operation is still queued or dispatched (or already running on the same dispatcher,
   * when it asks again), and only to a dispatcher of the operation's pool, in the same
   * UPDATE that moves it to `running`: a cancel that got to the database first always wins,
   * and no operation runs twice. One round trip when granted (it NOTIFYs the operation's
   * followers too), two when refused (the reason is read); a claimant of another pool gets
   * no answer but the operation's pool.
   */
  async decideClaim(
    claim: ClaimMessage,
    pool: string,
    manager: EntityManager = this.dataSource.manager,
    onStarted?: (started: StartedOperation) => void,
  ): Promise<ClaimResultMessage | ClaimOfAnotherPool> {
    // `first`: started_at was set by this statement (now() is the transaction's start), not
    // by an earlier grant the same dispatcher asks for again
    const granted = await manager.query<{ type: string; first: boolean; waited: number }[]>(
      `WITH granted AS (
         UPDATE operations
            SET status = 'running', dispatcher_id = $2,
                started_at = COALESCE(started_at, now()), heartbeat_at = now()
          WHERE id = $1 AND pool = $3
            AND (status IN (${CLAIMABLE}) OR (status = 'running' AND dispatcher_id = $2))
          RETURNING id, type, started_at = now() AS first,
                    EXTRACT(EPOCH FROM started_at - created_at)::float8 AS waited
       )
       SELECT type, first, waited, pg_notify($4, id::text) FROM granted`,
      [claim.operationId, claim.dispatcherId, pool, STATUS_CHANNEL],
    );
    const result = {
      v: CONTRACT_VERSION,
      kind: 'claim-result',
      operationId: claim.operationId,
    } as const;
    if (granted.length > 0) {
      const [{ type, first, waited }] = granted;
      if (first) onStarted?.({ type, waitedSeconds: waited });
      return { ...result, granted: true };
    }
    const [row] = await manager.query<
      { status: string; dispatcher_id: string | null; pool: string }[]
    >(`SELECT status, dispatcher_id, pool FROM operations WHERE id = $1`, [claim.operationId]);
    if (row && row.pool !== pool) return { kind: 'another-pool', pool: row.pool };
    const reason = !row
      ? 'unknown operation'
      : row.status === 'running'
        ? `operation is running on dispatcher ${row.dispatcher_id ?? '(unknown)'}`
        : `operation is ${row.status}`;
    return { ...result, granted: false, reason };
  }

  /**
   * Applies a dispatcher's status event to its operation or task, only forward: a late or
   * replayed event changes nothing. A terminal status counts the lines stored so far and
   * ends the operation's unfinished tasks. One round trip, two when an operation ends.
   * Returns the operation's type and status when this event ended it.
   */
  async applyStatus(
    manager: EntityManager,
    event: StatusMessage,
  ): Promise<EndedOperation | undefined> {
    const terminal = isTerminal(event.status);
    const from = statusesBefore(event.status);
    if (event.taskId === null) {
      const moved = await updateReturning<{ type: string }>(
        manager,
        `UPDATE operations
            SET status = $2,
                reason = COALESCE($3, reason),
                exit_code = COALESCE($4, exit_code),
                dispatcher_id = $5,
                started_at = CASE WHEN $2 = 'running' THEN COALESCE(started_at, $6) ELSE started_at END,
                finished_at = CASE WHEN $7 THEN $6 ELSE finished_at END,
                line_count = COALESCE($8, line_count),
                lines_stored = CASE WHEN $7
                  THEN (SELECT count(*) FROM log_lines WHERE operation_id = $1) ELSE lines_stored END,
                updated_at = now()
          WHERE id = $1 AND status = ANY($9::text[])
          RETURNING type`,
        [
          event.operationId,
          event.status,
          event.reason ?? null,
          event.exitCode ?? null,
          event.dispatcherId,
          event.at,
          terminal,
          event.lineCount ?? null,
          from,
        ],
      );
      if (terminal && moved.length > 0) {
        await this.endUnfinishedTasks(manager, [event.operationId], {
          status: event.status === 'lost' ? 'lost' : 'cancelled',
          reason: `not run to the end: operation ${event.status}`,
          at: event.at,
        });
        return { type: moved[0].type, status: event.status };
      }
      return undefined;
    }
    await manager.query(
      `UPDATE tasks
          SET status = $3,
              reason = COALESCE($4, reason),
              exit_code = COALESCE($5, exit_code),
              started_at = CASE WHEN $3 = 'running' THEN COALESCE(started_at, $6) ELSE started_at END,
              finished_at = CASE WHEN $7 THEN $6 ELSE finished_at END
        WHERE id = $2 AND operation_id = $1 AND status = ANY($8::text[])`,
      [
        event.operationId,
        event.taskId,
        event.status,
        event.reason ?? null,
        event.exitCode ?? null,
        event.at,
        terminal,
        from,
      ],
    );
    return undefined;
  }

  /**
   * Records that dispatchers are alive and running these operations (dispatched or running
   * ones only; a beat never takes heartbeat_at back). Only operations of the beat's pool
   * count, and a running one only for the dispatcher that holds its claim: a beat never
   * hands an operation to another dispatcher. The same statement upserts each beat's
   * dispatcher into `dispatchers` (its latest beat of the batch; an older one than the row
   * holds changes nothing), `silent_after` being its `at` plus `silenceSeconds` (the relay's
   * RELAY_LOST_AFTER_MS). One round trip for all the beats of a batch, none without any.
   */
  async recordHeartbeats(
    manager: EntityManager,
    beats: HeartbeatMessage[],
    silenceSeconds = DEFAULT_LOST_AFTER_MS / 1000,
  ): Promise<void> {
    if (beats.length === 0) return;
    // a beat's operations as (the beat's ordinal, operation id) pairs: unnest takes no ragged arrays
    const opBeat = beats.flatMap((beat, i) => beat.operations.map(() => i + 1));
    await manager.query(
      `WITH beat AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[])
                  WITH ORDINALITY AS b(dispatcher_id, pool, at, concurrency, n)
       ), beat_op AS (
         SELECT * FROM unnest($5::int[], $6::uuid[]) AS o(n, operation_id)
       ), op_beat AS (
         SELECT o.operation_id, b.dispatcher_id, b.pool, max(b.at) AS at
           FROM beat_op o JOIN beat b ON b.n = o.n
          GROUP BY o.operation_id, b.dispatcher_id, b.pool
       ), beaten AS (
         UPDATE operations op
            SET heartbeat_at = GREATEST(op.heartbeat_at, ob.at),
                dispatcher_id = COALESCE(CASE WHEN op.status = 'running' THEN op.dispatcher_id END,
                                         ob.dispatcher_id)
           FROM op_beat ob
          WHERE op.id = ob.operation_id AND op.pool = ob.pool
            AND (op.status = 'dispatched'
                 OR (op.status = 'running'
                     AND COALESCE(op.dispatcher_id, ob.dispatcher_id) = ob.dispatcher_id))
       ), latest AS (
         SELECT DISTINCT ON (b.pool, b.dispatcher_id) b.pool, b.dispatcher_id, b.at, b.concurrency,
                ARRAY(SELECT o.operation_id FROM beat_op o WHERE o.n = b.n) AS operations
           FROM beat b
          ORDER BY b.pool, b.dispatcher_id, b.at DESC, b.n DESC
       )
       INSERT INTO dispatchers AS d (pool, dispatcher_id, operations, concurrency,
                                     first_seen_at, last_seen_at, silent_after)
       SELECT pool, dispatcher_id, operations, concurrency, at, at,
              at + make_interval(secs => $7)
         FROM latest
       ON CONFLICT (pool, dispatcher_id) DO UPDATE
          SET operations = EXCLUDED.operations, concurrency = EXCLUDED.concurrency,
              last_seen_at = EXCLUDED.last_seen_at, silent_after = EXCLUDED.silent_after
        WHERE d.last_seen_at <= EXCLUDED.last_seen_at`,
      [
        beats.map((beat) => beat.dispatcherId),
        beats.map((beat) => beat.pool),
        beats.map((beat) => beat.at),
        beats.map((beat) => beat.concurrency ?? null),
        opBeat,
        beats.flatMap((beat) => beat.operations),
        silenceSeconds,
      ],
    );
  }

  /**
   * Forgets the dispatchers last seen more than `olderThanSeconds` before `seenUntil` (how
   * far the relay is sure to have seen the events). Returns how many.
   */
  async forgetDispatchers(seenUntil: Date, olderThanSeconds: number): Promise<number> {
    const [, count] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM dispatchers
        WHERE last_seen_at < $1::timestamptz - make_interval(secs => $2)`,
      [seenUntil, olderThanSeconds],
    );
    return count;
  }

  /**
   * Every operation running without a sign of life (heartbeat, else start) for more than
   * `silenceSeconds` before `seenUntil` (how far the relay is sure to have seen the events)
   * becomes `lost` with the reason, and so do its unfinished tasks. Returns those operations.
   */
  async markLost(seenUntil: Date, silenceSeconds: number): Promise<LostOperation[]> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await updateReturning<LostOperation>(
        manager,
        `UPDATE operations
            SET status = 'lost', finished_at = now(),
                reason = format('dispatcher %s silent for more than %s s',
                                COALESCE(dispatcher_id, '(unknown)'), $1::text)
          WHERE status = 'running'
            AND COALESCE(heartbeat_at, started_at, updated_at) < $2::timestamptz - make_interval(secs => $1)
          RETURNING id, reason, type`,
        [silenceSeconds, seenUntil],
      );
      if (rows.length > 0) {
        await this.endUnfinishedTasks(
          manager,
          rows.map((row) => row.id),
          { status: 'lost', reason: 'operation lost' },
        );
      }
      return rows;
    });
  }

  /**
   * Every operation still `dispatched` whose signed dispatch has expired (`ttlSeconds` after
   * it was published) and that no dispatcher named in a heartbeat for `graceSeconds` more,
   * before `seenUntil`, becomes `lost`: a dispatcher would dead-letter its message, so nothing
   * would ever claim it. Returns those operations.
   */
  async expireDispatched(
    seenUntil: Date,
    ttlSeconds: number,
    graceSeconds: number,
  ): Promise<LostOperation[]> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await updateReturning<LostOperation>(
        manager,
        `UPDATE operations
            SET status = 'lost', finished_at = now(), updated_at = now(),
                reason = format('no dispatcher of pool %s took it before its dispatch expired (%s s after it was published)',
                                pool, $1::text)
          WHERE status = 'dispatched'
            AND GREATEST(dispatched_at, heartbeat_at) < $3::timestamptz - make_interval(secs => $2::double precision)
          RETURNING id, reason, type`,
        [ttlSeconds, ttlSeconds + graceSeconds, seenUntil],
      );
      if (rows.length > 0) {
        await this.endUnfinishedTasks(
          manager,
          rows.map((row) => row.id),
          { status: 'lost', reason: 'operation lost' },
        );
      }
      return rows;
    });
  }

  /**
   * Lost operations, oldest end first, whose type retries on `lost` and that have attempts
   * left and no retry yet.
   */
  async lostDueForRetry(limit = 100): Promise<LostRetryDue[]> {
    return this.dataSource.query(
      `SELECT o.id, o.retry_backoff_seconds AS "backoffSeconds" FROM operations o
        WHERE o.status = 'lost' AND o.attempt <= o.retry_limit
          AND NOT EXISTS (SELECT 1 FROM operations r WHERE r.retry_of = o.id)
        ORDER BY o.finished_at
        LIMIT $1`,
      [limit],
    );
  }

  /**
   * Cancels an operation. A queued or dispatched one is cancelled here and now, with every
   * task (a dispatcher that claims it later is refused, so no task ever starts); a running
   * one gets a cancel message to its dispatcher, once, and ends `cancelled` when the
   * dispatcher reports it. ConflictError when it has already ended. `actor` is recorded as
   * cancelled_by (the first one to ask, for a running operation).
   */
  async cancel(id: string, reason: string, actor: string | null = null): Promise<CancelOutcome> {
    if (!UUID_PATTERN.test(id)) return 'not-found';
    // The row lock makes concurrent cancels (and the relay's status updates) take turns; NO KEY
    // UPDATE, so that the relay can still insert this operation's log lines meanwhile.
    return this.dataSource.transaction(async (manager) => {
      const [row]: { status: OperationStatus; cancel_requested_at: Date | null }[] =
        await manager.query(
          `SELECT status, cancel_requested_at FROM operations WHERE id = $1 FOR NO KEY UPDATE`,
          [id],
        );
      if (!row) return 'not-found';
      if (isTerminal(row.status)) {
        throw new ConflictError(`operation ${id} is already ${row.status}`);
      }
      if (row.status === 'running') {
        if (row.cancel_requested_at === null) {
          await this.requestCancel(manager, id, reason, actor);
        }
        return 'requested';
      }
      await manager.query(
        `UPDATE operations SET status = 'cancelled', reason = $2, finished_at = now(), cancelled_by = $3
          WHERE id = $1 AND status IN (${CANCELLABLE})`,
        [id, reason, actor],
      );
      await this.endUnfinishedTasks(manager, [id], {
        status: 'cancelled',
        reason: `not run: ${reason}`,
      });
      return 'cancelled';
    });
  }

  /**
   * Starts a new attempt of an operation that ended without succeeding (failed, timed_out,
   * lost, cancelled), linked to it by `retryOf`. Each attempt is retried at most once: retry
   * the retry to go on. Null when the operation does not exist; ConflictError when it may not
   * be retried (still active, succeeded, or already retried).
   */
  async retry(id: string, options: RetryOptions = {}): Promise<RetryAttempt | null> {
    const delaySeconds = checkDelay(options.delaySeconds ?? 0);
    if (!UUID_PATTERN.test(id)) return null;
    // Concurrent retries take turns on the row lock, and the later one finds the retry made;
    // the unique index on retry_of still stops a writer that does not take the lock.
    try {
      return await this.dataSource.transaction(async (manager) => {
        const [row]: StoredOperation[] = await manager.query(
          `SELECT id, type, target, pool, params, status, attempt, exclusive, retry_limit,
                  retry_backoff_seconds
             FROM operations WHERE id = $1 FOR NO KEY UPDATE`,
          [id],
        );
        if (!row) return null;
        if (!isRetryable(row.status)) {
          throw new ConflictError(
            `operation ${id} is ${row.status}; only a failed, timed_out, lost or cancelled operation can be retried`,
          );
        }
        const [retried]: { id: string }[] = await manager.query(
          `SELECT id FROM operations WHERE retry_of = $1`,
          [id],
        );
        if (retried) throw alreadyRetried(id, retried.id);
        const plan =
          typeof options.plan === 'function'
            ? options.plan({ id, type: row.type, target: row.target, params: row.params })
            : (options.plan ?? (await storedPlan(manager, row)));
        const attempt = row.attempt + 1;
        const actor = options.actor ?? null;
        await manager.query(`UPDATE operations SET retried_by = $2 WHERE id = $1`, [id, actor]);
        const newId = await this.create(
          plan,
          { retryOf: id, attempt, delaySeconds, actor },
          manager,
        );
        return { id: newId, attempt };
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
  }

  /**
   * What every path that ends operations does, in one statement: their unfinished tasks
   * end too (the dispatcher reports every task, but a lost, cancelled or abandoned
   * operation could not), the outbox is woken (their targets are free again for the
   * operations waiting on them) and their followers are told (log and status channels). The
   * NOTIFYs are delivered at commit, each at most once per transaction.
   */
  async endUnfinishedTasks(
    manager: EntityManager,
    operationIds: string[],
    ending: TaskEnding,
  ): Promise<void> {
    await manager.query(
      `WITH ended AS (
         UPDATE tasks SET status = $2, finished_at = COALESCE($3::timestamptz, now()), reason = $4
          WHERE operation_id = ANY($1::text[]::uuid[]) AND status IN (${UNFINISHED})
       )
       SELECT pg_notify($5, '')
       UNION ALL
       SELECT pg_notify($6, id) FROM unnest($1::text[]) AS id
       UNION ALL
       SELECT pg_notify($7, id) FROM unnest($1::text[]) AS id`,
      [
        operationIds,
        ending.status,
        ending.at ?? null,
        ending.reason,
        OUTBOX_CHANNEL,
        LOG_CHANNEL,
        STATUS_CHANNEL,
      ],
    );
  }

  /** Marks the cancel as requested and queues the message to the dispatchers. */
  private async requestCancel(
    manager: EntityManager,
    id: string,
    reason: string,
    actor: string | null,
  ): Promise<void> {
    await manager.query(
      `UPDATE operations SET cancel_requested_at = now(), cancelled_by = $2 WHERE id = $1`,
      [id, actor],
    );
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
    // the operation's view changed (cancelRequestedAt): its followers are told
    await manager.query(`SELECT pg_notify($1, ''), pg_notify($2, $3)`, [
      OUTBOX_CHANNEL,
      STATUS_CHANNEL,
      id,
    ]);
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

/** The plan an operation was created with, rebuilt from its row and its tasks. */
async function storedPlan(manager: EntityManager, row: StoredOperation): Promise<OperationPlan> {
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

/**
 * Runs an UPDATE … RETURNING and gives back its rows. (TypeORM answers an UPDATE with
 * `[rows, affectedCount]`, not with the rows alone.)
 */
async function updateReturning<T>(
  manager: EntityManager,
  sql: string,
  parameters: unknown[],
): Promise<T[]> {
  const [rows] = await manager.query<[T[], number]>(sql, parameters);
  return rows;
}

function checkDelay(seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_DELAY_SECONDS) {
    throw new RangeError(`delaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`);
  }
  return seconds;
}

function isRetryOfTaken(error: unknown): boolean {
  const pg = (error as { driverError?: { code?: string; constraint?: string } }).driverError;
  return pg?.code === UNIQUE_VIOLATION && pg.constraint === 'uq_operations_retry_of';
}

function alreadyRetried(id: string, retryId: string): ConflictError {
  return new ConflictError(
    `operation ${id} has already been retried as ${retryId}; retry that one to go on`,
  );
}
