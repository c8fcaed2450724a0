import { TERMINAL_STATUSES } from '@app/contracts';
import { Client } from 'pg';
import { LOG_CHANNEL } from '@app/database';
import type { Stack } from '../support/stack';
import { percentiles, splitEvenly } from './stats';

/** Line printed → row committed, at a steady line rate (test.rate operations). */
export interface LineLatencyFigures {
  operations: number;
  ratePerSecond: number;
  seconds: number;
  linesPrinted: number;
  /** Lines read back with their print time; should equal linesPrinted. */
  linesMeasured: number;
  /** Of those, lines first seen by the final sweep rather than on a notification. */
  linesSwept: number;
  notifications: number;
  /** Lines measured / (last print time − first print time). */
  achievedRatePerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The row's stored_at (its transaction's start, before the commit) − printed: a lower bound. */
  storedAt: { p50Ms: number; p99Ms: number };
  measuredTo: string;
}

const PRINTED = /^printed (\d+) (\d+)$/;

/** The print time (epoch µs) and number of a test.rate line; undefined for any other line. */
export function parsePrinted(line: string): { printedUs: number; n: number } | undefined {
  const match = PRINTED.exec(line);
  return match ? { printedUs: Number(match[1]), n: Number(match[2]) } : undefined;
}

/**
 * LISTENs on the channel the relay NOTIFYs at each commit of an operation's lines; on each
 * notification reads that operation's rows past the last seq seen. A row's "committed by"
 * time is when the query that first saw it was sent: the row was committed before that
 * query's snapshot, so latency is never under-stated, and the query goes out as soon as
 * the notification is in (queries run one at a time, so none waits behind another).
 */
export async function measureLineLatency(
  stack: Stack,
  ratePerSecond: number,
  seconds: number,
  operations: number,
): Promise<LineLatencyFigures> {
  const client = new Client({ connectionString: stack.db.url, application_name: 'aegir-bench' });
  await client.connect();
  try {
    const lastSeq = new Map<string, number>();
    const heardEarly = new Set<string>(); // notified before its POST answered
    const dirty = new Set<string>();
    const latenciesMs: number[] = [];
    const storedMs: number[] = [];
    let firstPrintedUs = Infinity;
    let lastPrintedUs = 0;
    let notifications = 0;
    let working: Promise<void> | undefined;
    let failure: Error | undefined;

    const readNew = async (id: string): Promise<number> => {
      const sentAtMs = Date.now();
      const { rows } = await client.query<{ seq: string; line: string; stored_ms: number }>(
        `SELECT seq, line, extract(epoch FROM stored_at) * 1000 AS stored_ms
           FROM log_lines WHERE operation_id = $1 AND seq > $2 ORDER BY seq`,
        [id, lastSeq.get(id)],
      );
      let measured = 0;
      for (const row of rows) {
        const printed = parsePrinted(row.line);
        if (!printed) continue; // the dispatcher's own lines
        latenciesMs.push(sentAtMs - printed.printedUs / 1000);
        storedMs.push(Number(row.stored_ms) - printed.printedUs / 1000);
        firstPrintedUs = Math.min(firstPrintedUs, printed.printedUs);
        lastPrintedUs = Math.max(lastPrintedUs, printed.printedUs);
        measured++;
      }
      if (rows.length > 0) lastSeq.set(id, Number(rows[rows.length - 1].seq));
      return measured;
    };
    const work = async (): Promise<void> => {
      try {
        while (dirty.size > 0) {
          const [id] = dirty;
          dirty.delete(id);
          await readNew(id);
        }
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      } finally {
        working = undefined;
      }
    };
    // a function, so TypeScript does not narrow `failure` to undefined between awaits
    const throwFailure = (): void => {
      if (failure) throw failure;
    };
    const wake = (id: string): void => {
      dirty.add(id);
      working ??= work();
    };
    client.on('notification', ({ payload }) => {
      if (!payload) return;
      if (lastSeq.has(payload)) {
        notifications++;
        wake(payload);
      } else heardEarly.add(payload);
    });
    await client.query(`LISTEN ${LOG_CHANNEL}`);

    const runId = Date.now().toString(36);
    const rates = splitEvenly(ratePerSecond, operations);
    const created = await Promise.all(
      rates.map((rate, i) =>
        stack.createOperation('test.rate', `rate-${runId}-${i}`, { rate, seconds }),
      ),
    );
    const ids = created.map((operation: { id: string }) => operation.id);
    for (const id of ids) {
      lastSeq.set(id, 0);
      if (heardEarly.has(id)) wake(id);
    }

    const deadline = Date.now() + seconds * 1000 + 120_000;
    for (;;) {
      throwFailure();
      const [row] = await stack.query(
        `SELECT count(*)::int AS ended FROM operations WHERE id = ANY($1) AND status = ANY($2)`,
        [ids, TERMINAL_STATUSES],
      );
      if (row.ended === ids.length) break;
      if (Date.now() > deadline) throw new Error(`lines: ${row.ended}/${ids.length} ended in time`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await working;
    throwFailure();
    // Whatever no notification brought (none, when all is well) is read now, late.
    let linesSwept = 0;
    for (const id of ids) linesSwept += await readNew(id);

    const latency = percentiles(latenciesMs);
    const stored = percentiles(storedMs);
    return {
      operations,
      ratePerSecond,
      seconds,
      linesPrinted: ratePerSecond * seconds,
      linesMeasured: latency.count,
      linesSwept,
      notifications,
      achievedRatePerSecond: latency.count / ((lastPrintedUs - firstPrintedUs) / 1e6),
      p50Ms: latency.p50,
      p95Ms: latency.p95,
      p99Ms: latency.p99,
      maxMs: latency.max,
      storedAt: { p50Ms: stored.p50, p99Ms: stored.p99 },
      measuredTo:
        'from the time in the line (taken just before its burst is written) to when the bench ' +
        "sent the query that first saw the row, on the relay's commit NOTIFY (same host clock)",
    };
  } finally {
    await client.end();
  }
}
