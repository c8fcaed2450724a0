import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';
import { forEachLine, type LinesMessage, type LogMessage } from '@app/contracts';

const COLUMNS = '(operation_id, task_id, seq, stream, line, emitted_at, continues)';

/** The two forms lines arrive in: `log` (a line per object) and `lines` (columns). */
export type LineMessage = LogMessage | LinesMessage;

export function isLineMessage(event: { kind: string }): event is LineMessage {
  return event.kind === 'log' || event.kind === 'lines';
}

export function lineCount(message: LineMessage): number {
  return message.kind === 'log' ? message.lines.length : message.text.length;
}

/** A line's operation is not in the database; the message is refused (SQLSTATE 23503). */
export class UnknownOperationError extends Error {
  override readonly name = 'UnknownOperationError';
  readonly code = '23503';
}

/** The primary key refused a line: it is stored already (SQLSTATE 23505 on pk_log_lines). */
export function isDuplicateLine(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'pk_log_lines';
}

/** Appends the lines with one COPY; fails with a duplicate-key error if any is stored already. */
export async function copyLines(manager: EntityManager, messages: LineMessage[]): Promise<void> {
  if (!messages.some((message) => lineCount(message) > 0)) return;
  await lockOperations(manager, messages);
  const runner = manager.queryRunner;
  if (!runner) throw new Error('copyLines must run in a transaction');
  const client = (await runner.connect()) as PoolClient;
  const copy = client.query(copyFrom(`COPY log_lines ${COLUMNS} FROM STDIN`));
  await pipeline(Readable.from([copyText(messages)]), copy);
}

/** Inserts the lines, skipping those stored already. */
export async function insertLinesIgnoringDuplicates(
  manager: EntityManager,
  messages: LineMessage[],
): Promise<void> {
  const operationIds: string[] = [];
  const taskIds: (string | null)[] = [];
  const seqs: number[] = [];
  const streams: string[] = [];
  const texts: string[] = [];
  const ats: string[] = [];
  const continued: boolean[] = [];
  for (const message of messages) {
    forEachLine(message, (taskId, seq, stream, text, at, continues) => {
      operationIds.push(message.operationId);
      taskIds.push(taskId);
      seqs.push(seq);
      streams.push(stream);
      texts.push(text);
      ats.push(at);
      continued.push(continues);
    });
  }
  if (seqs.length === 0) return;
  await lockOperations(manager, messages);
  await manager.query(
    `INSERT INTO log_lines ${COLUMNS}
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[],
                          $6::timestamptz[], $7::boolean[])
     ON CONFLICT (operation_id, seq) DO NOTHING`,
    [operationIds, taskIds, seqs, streams, texts, ats, continued],
  );
}

/**
 * What the foreign key did, once per batch rather than once per row: every operation must
 * exist, and stays (a key-share lock) until the lines are committed.
 */
async function lockOperations(manager: EntityManager, messages: LineMessage[]): Promise<void> {
  const ids = [...new Set(messages.map((message) => message.operationId))];
  const found = await manager.query<{ id: string }[]>(
    `SELECT id FROM operations WHERE id = ANY($1::uuid[]) FOR KEY SHARE`,
    [ids],
  );
  if (found.length === ids.length) return;
  const known = new Set(found.map((row) => row.id));
  const unknown = ids.filter((id) => !known.has(id));
  throw new UnknownOperationError(`log lines for unknown operation ${unknown.join(', ')}`);
}

/** The lines as COPY text: tab-separated, `\N` for null, backslash escapes. */
export function copyText(messages: LineMessage[]): string {
  let text = '';
  for (const message of messages) {
    const operationId = escapeCopy(message.operationId);
    forEachLine(message, (taskId, seq, stream, line, at, continues) => {
      text +=
        `${operationId}\t${taskId === null ? '\\N' : escapeCopy(taskId)}\t${seq}\t` +
        `${escapeCopy(stream)}\t${escapeCopy(line)}\t${escapeCopy(at)}\t${continues ? 't' : 'f'}\n`;
    });
  }
  return text;
}

const SPECIAL = /[\\\t\n\r]/g;
const HAS_SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeCopy(value: string): string {
  return HAS_SPECIAL.test(value) ? value.replace(SPECIAL, (char) => ESCAPES[char]) : value;
}
