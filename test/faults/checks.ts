import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { RawAmqp } from '../support/services';
import type { Stack } from '../support/stack';
import { TERMINAL_STATUSES } from '@app/contracts';

export { TERMINAL_STATUSES as TERMINAL } from '@app/contracts';

export interface StoredLine {
  seq: number;
  stream: string;
  text: string;
  continues: boolean;
}

/** What a user can find out about one operation afterwards: the api's view and the stored log. */
export interface OperationFacts {
  id: string;
  type: string;
  target: string;
  status: string;
  reason: string | null;
  attempt: number | null;
  retryOf: string | null;
  /** Lines the dispatcher said it emitted (null when it never reported an end). */
  lineCount: number | null;
  /** Lines the relay found stored when it recorded the final status. */
  linesStored: number | null;
  complete: boolean | null;
  startedAt: string | null;
  tasks: {
    id: string;
    name: string;
    status: string;
    reason: string | null;
    exitCode: number | null;
  }[];
  /** Rows in log_lines. */
  stored: number;
  /** stdout/stderr rows whose text is stored more than once. */
  duplicates: number;
  /** In seq order; empty when read with `lines: false`. */
  lines: StoredLine[];
}

/** Reads an operation through the api and its log straight from the database. */
export async function examine(
  stack: Stack,
  id: string,
  options: { lines?: boolean } = {},
): Promise<OperationFacts> {
  const response = await stack.request('GET', `/operations/${id}`);
  assert.equal(response.status, 200, `GET /operations/${id}: ${JSON.stringify(response.body)}`);
  const view = response.body;
  const facts: OperationFacts = {
    id,
    type: view.type,
    target: view.target,
    status: view.status,
    reason: view.reason ?? null,
    attempt: view.attempt ?? null,
    retryOf: view.retryOf ?? null,
    lineCount: view.lineCount ?? null,
    linesStored: view.linesStored ?? null,
    complete: view.complete ?? null,
    startedAt: view.startedAt ?? null,
    tasks: view.tasks ?? [],
    stored: 0,
    duplicates: 0,
    lines: [],
  };
  if (options.lines === false) {
    const [row] = await stack.query(
      `SELECT count(*)::int AS stored FROM log_lines WHERE operation_id = $1`,
      [id],
    );
    facts.stored = row.stored;
    return facts;
  }
  const rows = await stack.query(
    `SELECT seq, stream, line, continues FROM log_lines WHERE operation_id = $1 ORDER BY seq`,
    [id],
  );
  facts.lines = rows.map((row) => ({
    seq: Number(row.seq),
    stream: row.stream,
    text: row.line,
    continues: row.continues === true,
  }));
  facts.stored = facts.lines.length;
  const output = facts.lines.filter((line) => line.stream !== 'system').map((line) => line.text);
  facts.duplicates = output.length - new Set(output).size;
  return facts;
}

export function describeFacts(facts: OperationFacts): string {
  return JSON.stringify({ ...facts, lines: `(${facts.lines.length})` });
}

/**
 * Every line stored exactly once and in order: seq runs 1..n without a gap, and, when the
 * dispatcher reported its end, n is the number it emitted and the relay recorded them all.
 */
export function assertStoredOnce(facts: OperationFacts): void {
  const context = describeFacts(facts);
  if (facts.lines.length > 0) {
    const gap = facts.lines.findIndex((line, index) => line.seq !== index + 1);
    assert.equal(
      gap,
      -1,
      `seq is not 1..n: seq ${facts.lines[gap]?.seq} at ${gap + 1}; ${context}`,
    );
  }
  assert.equal(facts.duplicates, 0, `texts stored more than once; ${context}`);
  if (facts.status === 'lost' && facts.lineCount === null) return; // the prefix that arrived
  assert.equal(facts.lineCount, facts.stored, `emitted ≠ stored; ${context}`);
  assert.equal(facts.linesStored, facts.stored, `lines_stored at the end ≠ stored; ${context}`);
  assert.equal(facts.complete, true, `not complete; ${context}`);
}

/** The stdout lines, in order. */
export function stdoutOf(facts: OperationFacts): string[] {
  return facts.lines.filter((line) => line.stream === 'stdout').map((line) => line.text);
}

/** What test.lines and test.drip print: `line 1` .. `line n`. */
export function numbered(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `line ${i + 1}`);
}

/** Compares long line lists without printing all of them on failure. */
/**
 * Waits for the operation to end, then checks it succeeded with its `count` numbered lines,
 * each stored once and in order; returns its facts.
 */
export async function expectAllLines(
  stack: Stack,
  id: string,
  count: number,
  timeoutMs = 120_000,
): Promise<OperationFacts> {
  await stack.waitForStatus(id, TERMINAL_STATUSES, timeoutMs);
  const facts = await examine(stack, id);
  assert.equal(facts.status, 'succeeded', describeFacts(facts));
  assertStoredOnce(facts);
  assertLines(stdoutOf(facts), numbered(count));
  return facts;
}

export function assertLines(actual: string[], expected: string[], context = ''): void {
  const first = actual.findIndex((line, index) => line !== expected[index]);
  if (first === -1 && actual.length === expected.length) return;
  const at = first === -1 ? Math.min(actual.length, expected.length) : first;
  assert.fail(
    `${actual.length} lines, expected ${expected.length}; first difference at ${at + 1}: ` +
      `${JSON.stringify(actual[at])} ≠ ${JSON.stringify(expected[at])} ${context}`,
  );
}

/** Ready messages per queue of the stack's vhost, asked of each queue (exact, unlike list_queues). */
export async function readyCounts(stack: Stack, queues: string[]): Promise<Record<string, number>> {
  const amqp = await RawAmqp.connect(stack.vhost.url);
  try {
    const counts: Record<string, number> = {};
    for (const queue of queues) counts[queue] = await amqp.readyCount(queue);
    return counts;
  } finally {
    await amqp.close();
  }
}

/**
 * Waits until no message is ready in the queues, then a little longer for the consumer to
 * finish what it took (acks, dead-letters).
 */
export async function waitForEmptyQueues(
  stack: Stack,
  queues: string[],
  timeoutMs = 30_000,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    const counts = await readyCounts(stack, queues);
    if (Object.values(counts).every((count) => count === 0)) break;
    if (Date.now() - started > timeoutMs) {
      assert.fail(`messages still ready after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 750));
}

/** No message was dead-lettered in the stack's vhost (shows the reasons when there were). */
export async function assertNothingDeadLettered(stack: Stack): Promise<void> {
  await waitForEmptyQueues(stack, ['aegir.events', 'aegir.claims']);
  const amqp = await RawAmqp.connect(stack.vhost.url);
  try {
    const dead = await amqp.peek('aegir.dead-letter');
    if (dead.length === 0) return;
    const reasons = dead.map(
      (message) =>
        `${String(message.properties.headers?.['x-aegir-queue'])}: ${String(message.properties.headers?.['x-aegir-reason'])}`,
    );
    assert.fail(`${dead.length} message(s) dead-lettered:\n${reasons.join('\n')}`);
  } finally {
    await amqp.close();
  }
}

/** Nothing stuck: every operation and every task of the stack's database has ended. */
export async function assertAllEnded(stack: Stack): Promise<void> {
  const open = await stack.query(
    `SELECT 'operation ' || id || ' ' || status AS what FROM operations WHERE status <> ALL($1)
     UNION ALL
     SELECT 'task ' || id || ' of ' || operation_id || ' ' || status FROM tasks WHERE status <> ALL($1)`,
    [TERMINAL_STATUSES],
  );
  assert.deepEqual(
    open.map((row) => row.what),
    [],
    'operations or tasks not in a terminal status',
  );
}

/** Waits until the condition holds; fails with `what` after the timeout. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | null | false>,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Processes still alive that a task of the operation started (their environment names it). */
export function processesOf(operationId: string): Promise<string[]> {
  return processesWith(`AEGIR_OPERATION_ID=${operationId}`);
}

/** Live (not zombie) processes with `entry` in their environment, as "pid command line". */
export async function processesWith(entry: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
      if (!environ.split('\0').includes(entry)) continue;
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      const state = /^State:\s+(\S)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (state !== 'Z') found.push(`${pid} ${cmdline.trim()}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
