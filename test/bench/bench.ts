/**
 * `npm run bench`: the log pipeline against the real services on this machine (issue 4).
 * Starts its own database, vhost, relay, dispatcher and api (test/support/stack), measures
 * throughput, the single-connection limit of the same table, and peak memory; prints a
 * table and, with --json PATH, writes the same figures. Removes everything it made, even
 * when a step fails.
 */
import { writeFile } from 'node:fs/promises';
import { Stack } from '../support/stack';
import { parseArgs, USAGE, type BenchOptions } from './args';
import { measureStartLatency, type LatencyFigures } from './latency';
import { measureLimit, secondsSince, type LimitFigures } from './limit';

/** Set on SIGINT/SIGTERM: the failures of the steps the stop cuts short are expected. */
let interruptedBy: NodeJS.Signals | undefined;

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out', 'lost'];

interface ThroughputFigures {
  operations: number;
  linesPerOperation: number;
  linesPrinted: number;
  /** Every row written for these operations, the dispatcher's system lines included. */
  rowsStored: number;
  succeeded: number;
  /** First POST → all operations terminal and all their lines stored (polled every 50 ms). */
  secondsToAllSucceeded: number;
  /** First POST → max(stored_at) of their lines (the last commit's transaction start). */
  secondsToLastLineCommitted: number;
  linesPerSecond: number;
  rowsPerSecond: number;
  postSeconds: number;
}

interface BenchFigures {
  options: { operations: number; lines: number };
  throughput: ThroughputFigures;
  limit: LimitFigures;
  ratio: { ofBulk: number; ofPerLine: number };
  startLatency: LatencyFigures;
  peakRssMiB: { relay: number; dispatcher: number };
  notMeasured: string[];
}

async function throughput(stack: Stack, options: BenchOptions): Promise<ThroughputFigures> {
  const runId = Date.now().toString(36);
  const startedAt = new Date();
  const started = process.hrtime.bigint();
  // test.lines is exclusive per target: one target each, so all run at once
  const created = await Promise.all(
    Array.from({ length: options.operations }, (_, i) =>
      stack.createOperation('test.lines', `bench-${runId}-${i}`, { count: options.lines }),
    ),
  );
  const postSeconds = secondsSince(started);
  const ids = created.map((operation: { id: string }) => operation.id);
  const timeoutMs = Math.max(120_000, options.operations * options.lines * 0.05);
  for (;;) {
    const [ops] = await stack.query(
      `SELECT count(*) FILTER (WHERE status = ANY($2))::int AS terminal,
              count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
              count(line_count)::int AS counted,
              coalesce(sum(line_count), 0)::bigint AS emitted
         FROM operations WHERE id = ANY($1)`,
      [ids, TERMINAL],
    );
    const [lines] = await stack.query(
      `SELECT count(*)::bigint AS stored FROM log_lines WHERE operation_id = ANY($1)`,
      [ids],
    );
    const allEnded = ops.terminal === ids.length && ops.counted === ids.length;
    if (allEnded && Number(lines.stored) === Number(ops.emitted)) break;
    if (secondsSince(started) * 1000 > timeoutMs) {
      throw new Error(
        `after ${timeoutMs} ms: ${ops.terminal}/${ids.length} operations ended, ` +
          `${lines.stored} of ${ops.emitted} lines stored`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const secondsToAllSucceeded = secondsSince(started);
  const [summary] = await stack.query(
    `SELECT (SELECT count(*) FROM operations WHERE id = ANY($1) AND status = 'succeeded')::int AS succeeded,
            (SELECT count(*) FROM log_lines WHERE operation_id = ANY($1))::bigint AS stored,
            (SELECT max(stored_at) FROM log_lines WHERE operation_id = ANY($1)) AS last_stored`,
    [ids],
  );
  const linesPrinted = options.operations * options.lines;
  const secondsToLastLineCommitted =
    (new Date(summary.last_stored).getTime() - startedAt.getTime()) / 1000;
  return {
    operations: options.operations,
    linesPerOperation: options.lines,
    linesPrinted,
    rowsStored: Number(summary.stored),
    succeeded: summary.succeeded,
    secondsToAllSucceeded,
    secondsToLastLineCommitted,
    linesPerSecond: linesPrinted / secondsToAllSucceeded,
    rowsPerSecond: Number(summary.stored) / secondsToAllSucceeded,
    postSeconds,
  };
}

function fixed(value: number, digits = 2): string {
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function printTable(figures: BenchFigures): void {
  const { throughput: t, limit: l, ratio, peakRssMiB, startLatency: s } = figures;
  const rows: [string, string][] = [
    ['operations × lines', `${t.operations} × ${t.linesPerOperation}`],
    ['1. POSTs answered (s)', fixed(t.postSeconds, 3)],
    ['1. first POST → all succeeded (s)', fixed(t.secondsToAllSucceeded, 3)],
    ['1. first POST → last line committed (s)', fixed(t.secondsToLastLineCommitted, 3)],
    ['1. succeeded', `${t.succeeded} / ${t.operations}`],
    ['1. rows stored (incl. system lines)', String(t.rowsStored)],
    ['1. throughput (printed lines/s)', fixed(t.linesPerSecond, 0)],
    ['2. bulk baseline (rows/s)', `${fixed(l.bulkRowsPerSecond, 0)}  [${l.bulkMethod}]`],
    ['2. bulk baseline time (s)', fixed(l.bulkSeconds, 3)],
    [
      '2. per-line INSERT baseline (rows/s)',
      `${fixed(l.perLineRowsPerSecond, 0)}  [${l.perLineSampleRows < l.bulkRows ? 'extrapolated from' : 'measured:'} ${l.perLineSampleRows} autocommit INSERTs in ${fixed(l.perLineSampleSeconds, 2)} s]`,
    ],
    ['2. per-line baseline time for all rows (s)', fixed(l.perLineExtrapolatedSeconds, 3)],
    ['2. ours / bulk', `${fixed(ratio.ofBulk * 100, 1)} %`],
    ['2. ours / per-line INSERT', `${fixed(ratio.ofPerLine, 2)} ×`],
    [
      '3. POST → task started (ms)',
      `p50 ${s.p50Ms}  p95 ${s.p95Ms}  p99 ${s.p99Ms}  max ${s.maxMs}  [${s.operations} ops at ${s.ratePerSecond}/s, achieved ${fixed(s.achievedRatePerSecond, 1)}/s]`,
    ],
    ['4. relay peak RSS (MiB)', fixed(peakRssMiB.relay, 1)],
    ['4. dispatcher peak RSS (MiB)', fixed(peakRssMiB.dispatcher, 1)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log('\nAegir Queue benchmark\n');
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
  console.log(`\nnot measured: ${figures.notMeasured.join('; ')}`);
  console.log(`3. measured to: ${s.measuredTo}`);
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  console.error(`bench: starting the stack (${options.operations} × ${options.lines} lines)…`);
  const stack = await Stack.start({
    prefix: 'aegir_bench',
    env: {
      dispatcher: { DISPATCHER_CONCURRENCY: String(Math.max(4, options.operations)) },
    },
  });
  // Ctrl-C or a TERM still removes the database, vhost, processes and directories
  const interrupted = (signal: NodeJS.Signals): void => {
    interruptedBy = signal;
    console.error(`bench: ${signal}, cleaning up…`);
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    console.error('bench: 1. throughput…');
    const t = await throughput(stack, options);
    const peakRssMiB = {
      relay: stack.app('relay').peakRssMiB(),
      dispatcher: stack.app('dispatcher').peakRssMiB(),
    };
    console.error(
      `bench: 3. POST → started, ${options.latencyOperations} ops at ${options.rate}/s…`,
    );
    const startLatency = await measureStartLatency(stack, options.latencyOperations, options.rate);
    console.error('bench: 2. the limit (same table, one connection)…');
    const limit = await measureLimit(stack.db.url, t.linesPrinted);
    const figures: BenchFigures = {
      options: { operations: options.operations, lines: options.lines },
      throughput: t,
      limit,
      ratio: {
        ofBulk: t.linesPerSecond / limit.bulkRowsPerSecond,
        ofPerLine: t.linesPerSecond / limit.perLineRowsPerSecond,
      },
      startLatency,
      peakRssMiB,
      notMeasured: [
        'COPY (pg-copy-streams is not installed; the bulk baseline is unnest INSERTs)',
        '3. line printed → row committed latency at a steady line rate',
        "3. POST → started is to the dispatcher's 'running' event just before spawn, not the exec itself",
        '4. peak RSS while one task prints 1 GB',
      ],
    };
    printTable(figures);
    if (options.json) {
      await writeFile(options.json, `${JSON.stringify(figures, null, 2)}\n`);
      console.error(`bench: figures written to ${options.json}`);
    }
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  if (interruptedBy) return;
  console.error(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
});
