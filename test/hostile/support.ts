import type { Stack } from '../support/stack';

/** Hostile text: what a client types that a terminal, a parser or PostgreSQL chokes on. */
export const NUL = '\u0000';
/** A high surrogate with no low one after it: not UTF-8, not storable as text or jsonb. */
export const LONE_SURROGATE = '\ud800';
/** Cyrillic small ie (U+0435), drawn like Latin `e`. */
export const CYRILLIC_E = '\u0435';
export const ESC = '\u001b';

/** `levels` arrays inside each other around `inner`, as JSON text. */
export const nestedJson = (levels: number, inner = '1'): string =>
  `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;

/** `levels` objects `{"a": …}` inside each other, as a value. */
export function nestedObject(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** What a user reads of an error answer: the api's `message` (string or array), as one text. */
export function messageOf(body: unknown): string {
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown } | undefined)?.message;
  if (Array.isArray(message)) return message.map(String).join('\n');
  if (typeof message === 'string') return message;
  return JSON.stringify(body ?? null);
}

export interface RowCounts {
  operations: number;
  tasks: number;
  outbox: number;
  lines: number;
}

/** How many rows each table a request could write to holds. */
export async function rowCounts(stack: Stack): Promise<RowCounts> {
  const [row] = await stack.query<RowCounts>(
    `SELECT (SELECT count(*) FROM operations)::int AS operations,
            (SELECT count(*) FROM tasks)::int AS tasks,
            (SELECT count(*) FROM outbox)::int AS outbox,
            (SELECT count(*) FROM log_lines)::int AS lines`,
  );
  return row;
}

/**
 * A fingerprint of everything a message could change: each operation's and task's status,
 * reason, target and params, each operation's lines, and which dispatchers are known.
 * Heartbeat times, which a live dispatcher keeps moving, are left out.
 */
export async function stateDigest(stack: Stack): Promise<string> {
  const [row] = await stack.query<{ digest: string }>(
    `SELECT concat_ws(' | ',
       (SELECT string_agg(concat_ws(',', id, status, reason, target, params::text, finished_at,
                                    cancel_requested_at, line_count), ';' ORDER BY id) FROM operations),
       (SELECT string_agg(concat_ws(',', id, status, reason, exit_code), ';' ORDER BY id) FROM tasks),
       (SELECT string_agg(concat_ws(',', operation_id, n, last), ';' ORDER BY operation_id)
          FROM (SELECT operation_id, count(*) AS n, max(seq) AS last FROM log_lines GROUP BY operation_id) l),
       -- which dispatchers are known, not when each was last seen: the stack's own beats on
       (SELECT string_agg(pool || '/' || dispatcher_id, ';' ORDER BY pool, dispatcher_id) FROM dispatchers)
     ) AS digest`,
  );
  return row.digest;
}

/** Prints a long or binary value short and legible in an assertion message. */
export function shortly(text: string, max = 300): string {
  const shown = JSON.stringify(text);
  return shown.length > max ? `${shown.slice(0, max)}… (${text.length} chars)` : shown;
}
