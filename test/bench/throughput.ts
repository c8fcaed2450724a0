import { TERMINAL_STATUSES } from '@app/contracts';
import type { Stack } from '../support/stack';
import { watchCpu, type CpuProfile } from './cpu';
import { groupsOf } from './groups';
import { secondsSince } from './limit';

/** 1. Many operations printing numbered lines (test.lines), all created at once. */
export interface ThroughputFigures {
  operations: number;
  linesPerOperation: number;
  linesPrinted: number;
  /** Every row written for these operations, the dispatcher's system lines included. */
  rowsStored: number;
  succeeded: number;
  /** First POST → all operations terminal and all their lines stored (statuses polled every 50 ms). */
  secondsToAllSucceeded: number;
  /** First POST → max(stored_at) of their lines (the last commit's transaction start). */
  secondsToLastLineCommitted: number;
  /** First POST → the last task's started_at, and → the last task's finished_at (dispatcher clock). */
  secondsToAllStarted: number;
  secondsToAllFinished: number;
  linesPerSecond: number;
  rowsPerSecond: number;
  postSeconds: number;
  /** VmHWM since the apps started: their peak up to the end of this phase. */
  peakRssMiB: { relay: number; dispatcher: number };
  /** Where the CPU went, first POST → all stored. */
  cpu: CpuProfile;
}

export async function measureThroughput(
  stack: Stack,
  operations: number,
  lines: number,
): Promise<ThroughputFigures> {
  const runId = Date.now().toString(36);
  const startedAt = new Date();
  const cpu = watchCpu(groupsOf(stack));
  const started = process.hrtime.bigint();
  // test.lines is exclusive per target: one target each, so all run at once
  const created = await Promise.all(
    Array.from({ length: operations }, (_, i) =>
      stack.createOperation('test.lines', `bench-${runId}-${i}`, { count: lines }),
    ),
  );
  const postSeconds = secondsSince(started);
  const ids = created.map((operation: { id: string }) => operation.id);
  const timeoutMs = Math.max(120_000, operations * lines * 0.05);
  for (;;) {
    const [ops] = await stack.query(
      `SELECT count(*) FILTER (WHERE status = ANY($2))::int AS terminal,
              count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
              count(line_count)::int AS counted,
              coalesce(sum(line_count), 0)::bigint AS emitted
         FROM operations WHERE id = ANY($1)`,
      [ids, TERMINAL_STATUSES],
    );
    const allEnded = ops.terminal === ids.length && ops.counted === ids.length;
    // the rows are counted only once all have ended: counting is work for PostgreSQL too
    const [rows] = allEnded
      ? await stack.query(
          `SELECT count(*)::bigint AS stored FROM log_lines WHERE operation_id = ANY($1)`,
          [ids],
        )
      : [{ stored: '?' }];
    if (allEnded && Number(rows.stored) === Number(ops.emitted)) break;
    if (secondsSince(started) * 1000 > timeoutMs) {
      throw new Error(
        `after ${timeoutMs} ms: ${ops.terminal}/${ids.length} operations ended, ` +
          `${rows.stored} of ${ops.emitted} lines stored`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const secondsToAllSucceeded = secondsSince(started);
  const profile = cpu.stop();
  const [summary] = await stack.query(
    `SELECT (SELECT count(*) FROM operations WHERE id = ANY($1) AND status = 'succeeded')::int AS succeeded,
            (SELECT count(*) FROM log_lines WHERE operation_id = ANY($1))::bigint AS stored,
            (SELECT max(stored_at) FROM log_lines WHERE operation_id = ANY($1)) AS last_stored,
            (SELECT max(started_at) FROM tasks WHERE operation_id = ANY($1)) AS last_started,
            (SELECT max(finished_at) FROM tasks WHERE operation_id = ANY($1)) AS last_finished`,
    [ids],
  );
  const linesPrinted = operations * lines;
  const secondsAfterStart = (at: string | Date): number =>
    (new Date(at).getTime() - startedAt.getTime()) / 1000;
  return {
    operations: operations,
    linesPerOperation: lines,
    linesPrinted,
    rowsStored: Number(summary.stored),
    succeeded: summary.succeeded,
    secondsToAllSucceeded,
    secondsToLastLineCommitted: secondsAfterStart(summary.last_stored),
    secondsToAllStarted: secondsAfterStart(summary.last_started),
    secondsToAllFinished: secondsAfterStart(summary.last_finished),
    linesPerSecond: linesPrinted / secondsToAllSucceeded,
    rowsPerSecond: Number(summary.stored) / secondsToAllSucceeded,
    postSeconds,
    peakRssMiB: {
      relay: stack.app('relay').peakRssMiB(),
      dispatcher: stack.app('dispatcher').peakRssMiB(),
    },
    cpu: profile,
  };
}
