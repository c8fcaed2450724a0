import type { DataSource, EntityManager } from 'typeorm';
import type { HeartbeatMessage, SingleEvent, StatusMessage } from '@app/contracts';
import { isTerminal } from '@app/contracts';
import { LOG_CHANNEL, OUTBOX_CHANNEL, statusesBefore } from '@app/database';
import {
  copyLines,
  insertLinesIgnoringDuplicates,
  isDuplicateLine,
  isLineMessage,
} from './log-lines';
import { updateReturning } from './sql';

/** How a batch's lines go in: COPY (fast), or INSERT … ON CONFLICT DO NOTHING (idempotent). */
export type LineWrite = 'copy' | 'upsert';

/**
 * Stores a batch in one transaction. Its lines go in by COPY; when some of them are stored
 * already (the broker delivered the batch again after a relay crash), COPY fails on the key
 * and the batch is written again, skipping the lines it already has.
 */
export async function storeEvents(dataSource: DataSource, events: SingleEvent[]): Promise<void> {
  try {
    await dataSource.transaction((manager) => writeEvents(manager, events, 'copy'));
  } catch (error) {
    if (!isDuplicateLine(error)) throw error;
    await dataSource.transaction((manager) => writeEvents(manager, events, 'upsert'));
  }
}

/**
 * Writes a batch of events in a transaction: log lines (unique on (operation_id, seq)),
 * statuses only forward, heartbeats; then NOTIFYs followers of each operation touched
 * (delivered when the transaction commits).
 */
export async function writeEvents(
  manager: EntityManager,
  events: SingleEvent[],
  lineWrite: LineWrite = 'upsert',
): Promise<void> {
  const touched = new Set<string>();
  const logs = events.filter(isLineMessage);
  if (lineWrite === 'copy') await copyLines(manager, logs);
  else await insertLinesIgnoringDuplicates(manager, logs);
  for (const event of events) {
    if (isLineMessage(event)) touched.add(event.operationId);
    if (event.kind === 'status') {
      await applyStatus(manager, event);
      touched.add(event.operationId);
    }
  }
  await recordHeartbeats(
    manager,
    events.filter((event): event is HeartbeatMessage => event.kind === 'heartbeat'),
  );
  if (touched.size > 0) {
    await manager.query(`SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id`, [
      LOG_CHANNEL,
      [...touched],
    ]);
  }
}

async function applyStatus(manager: EntityManager, event: StatusMessage): Promise<void> {
  const terminal = isTerminal(event.status);
  const from = statusesBefore(event.status);
  if (event.taskId === null) {
    const moved = await updateReturning<{ id: string }>(
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
        RETURNING id`,
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
    if (terminal && moved.length > 0) await endUnfinishedTasks(manager, event);
    return;
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
}

async function recordHeartbeats(manager: EntityManager, beats: HeartbeatMessage[]): Promise<void> {
  for (const beat of beats) {
    if (beat.operations.length === 0) continue;
    await manager.query(
      `UPDATE operations SET heartbeat_at = GREATEST(heartbeat_at, $2::timestamptz), dispatcher_id = $3
        WHERE id = ANY($1::uuid[]) AND status IN ('dispatched', 'running')`,
      [beat.operations, beat.at, beat.dispatcherId],
    );
  }
}

/**
 * An operation that ended leaves no task queued or running: the dispatcher reports every
 * task, but a lost or abandoned operation could not. The target is free again, so the
 * outbox is woken for the operations waiting on it.
 */
async function endUnfinishedTasks(manager: EntityManager, event: StatusMessage): Promise<void> {
  const status = event.status === 'lost' ? 'lost' : 'cancelled';
  await manager.query(
    `WITH ended AS (
       UPDATE tasks SET status = $2, finished_at = $3, reason = $4
        WHERE operation_id = $1 AND status IN ('queued', 'dispatched', 'running')
     )
     SELECT pg_notify($5, '')`,
    [
      event.operationId,
      status,
      event.at,
      `not run to the end: operation ${event.status}`,
      OUTBOX_CHANNEL,
    ],
  );
}
