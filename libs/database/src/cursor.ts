/** A list cursor that does not decode; the api answers it with 400 naming `cursor`. */
export class BadCursorError extends Error {
  readonly field = 'cursor';
  constructor() {
    super('cursor is not valid');
    this.name = 'BadCursorError';
  }
}

/**
 * The keyset position of the last row of a page. `createdAt` keeps PostgreSQL's
 * microseconds (a JS Date would round them and skip or repeat rows).
 */
export interface CursorKey {
  createdAt: string;
  id: string;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Shape and calendar both: PostgreSQL would refuse 2025-02-30, or the year 0000 (there is no
 * year 0 in its calendar, JavaScript's has one), with an error, not a 400.
 */
function isTimestamp(text: string): boolean {
  if (!TIMESTAMP.test(text) || text.startsWith('0000')) return false;
  const date = new Date(text);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 23) === text.slice(0, 23);
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.createdAt, key.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadCursorError();
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'string' ||
    typeof value[1] !== 'string' ||
    !isTimestamp(value[0]) ||
    !UUID_PATTERN.test(value[1])
  ) {
    throw new BadCursorError();
  }
  return { createdAt: value[0], id: value[1] };
}
