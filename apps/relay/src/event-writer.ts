import type { DataSource, EntityManager } from 'typeorm';
import type { HeartbeatMessage, SingleEvent } from '@app/contracts';
import {
  LOG_CHANNEL,
  OperationStateRepository,
  STATUS_CHANNEL,
  type EndedOperation,
} from '@app/database';
import {
  copyLines,
  insertLinesIgnoringDuplicates,
  isDuplicateLine,
  isLineMessage,
} from './log-lines';

/** How a batch's lines go in: COPY (fast), or INSERT … ON CONFLICT DO NOTHING (idempotent). */
export type LineWrite = 'copy' | 'upsert';

/**
 * Stores a batch in one transaction. Its lines go in by COPY; when some of them are stored
 * already (the broker delivered the batch again after a relay crash), COPY fails on the key
 * and the batch is written again, skipping the lines it already has. Statuses and heartbeats
 * go through `state` (pass the injected OperationStateRepository; the default is one on
 * the same DataSource); a dispatcher is shown silent `silenceSeconds` after its last
 * heartbeat. Returns the operations the batch ended, once it is committed.
 */
export async function storeEvents(
  dataSource: DataSource,
  events: SingleEvent[],
  state = new OperationStateRepository(dataSource),
  silenceSeconds?: number,
): Promise<EndedOperation[]> {
  const write = (lineWrite: LineWrite) =>
    dataSource.transaction((manager) =>
      writeEvents(manager, events, lineWrite, state, silenceSeconds),
    );
  try {
    return await write('copy');
  } catch (error) {
    if (!isDuplicateLine(error)) throw error;
    return write('upsert');
  }
}

/**
 * Writes a batch of events in a transaction: log lines (unique on (operation_id, seq)),
 * statuses only forward, heartbeats (with the dispatchers they name, in one statement); then NOTIFYs followers of each operation touched on
 * the log channel, and of each one with a status event on the status channel too (one round
 * trip; delivered when the transaction commits). Returns the operations whose final status it
 * wrote.
 */
export async function writeEvents(
  manager: EntityManager,
  events: SingleEvent[],
  lineWrite: LineWrite = 'upsert',
  state = new OperationStateRepository(manager.connection),
  silenceSeconds?: number,
): Promise<EndedOperation[]> {
  const touched = new Set<string>();
  const ended: EndedOperation[] = [];
  const statusChanged = new Set<string>();
  const logs = events.filter(isLineMessage);
  if (lineWrite === 'copy') await copyLines(manager, logs);
  else await insertLinesIgnoringDuplicates(manager, logs);
  for (const event of events) {
    if (isLineMessage(event)) touched.add(event.operationId);
    if (event.kind === 'status') {
      const end = await state.applyStatus(manager, event);
      if (end) ended.push(end);
      touched.add(event.operationId);
      statusChanged.add(event.operationId);
    }
  }
  await state.recordHeartbeats(
    manager,
    events.filter((event): event is HeartbeatMessage => event.kind === 'heartbeat'),
    silenceSeconds,
  );
  if (touched.size > 0) {
    await manager.query(
      `SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id
       UNION ALL
       SELECT pg_notify($3, id) FROM unnest($4::text[]) AS id`,
      [LOG_CHANNEL, [...touched], STATUS_CHANNEL, [...statusChanged]],
    );
  }
  return ended;
}
