/**
 * `npm run bench`: the log pipeline against the real services on this machine (issue 4).
 * Starts its own database, vhost, relay, dispatcher and api (test/support/stack), measures
 * throughput and where its CPU goes, the single-connection limit of the same table, both
 * latencies and peak memory; prints a table and, with --json PATH, writes the same figures.
 * Removes everything it made, even when a step fails.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Stack } from '../support/stack';
import { parseArgs, PHASES, USAGE, type BenchOptions } from './args';
import { measureBig } from './big';
import { measureStartLatency } from './latency';
import { measureLimit } from './limit';
import { measureLineLatency } from './line-latency';
import { printTable, targetsOf, type BenchFigures } from './report';
import { measureSse } from './sse';
import { measureThroughput } from './throughput';

/** Set on SIGINT/SIGTERM: the failures of the steps the stop cuts short are expected. */
let interruptedBy: NodeJS.Signals | undefined;

const NOTES = [
  '1. throughput: printed lines / (first POST → every operation ended and every line stored)',
  "3. POST → started: to the task's started_at, the dispatcher's 'running' event just before " +
    'the workspace files are written and the process spawned (ms, same host clock)',
  '3. line → committed: from the epoch µs in the line (taken just before its ~2 ms burst is ' +
    "written) to when the bench sent the query that first saw the row, on the relay's commit " +
    'NOTIFY: an upper bound (same host clock)',
  '4. peak RSS, throughput: VmHWM since the apps started; for the big task relay and ' +
    'dispatcher are restarted just before it, so their VmHWM is that phase’s exact peak',
  'before the latency phases, log_lines is vacuumed and a checkpoint taken, so that the ' +
    'bulk rows of the phases before set off neither during a measurement',
  'CPU: utime+stime from /proc/PID/stat at the start and end of the phase, share of wall × ' +
    "cores; task processes = the dispatcher's reaped children (exact for tasks ended in the " +
    'phase); PostgreSQL, our backends = those whose command line names this database; the ' +
    'rest = postmaster, WAL writer, checkpointer, other databases; RabbitMQ serves other vhosts ' +
    'too; rest of the machine = /proc/stat busy − the listed (kernel, anything else running)',
];

/** Records which app each pid was, to name the .cpuprofile files (they carry the pid). */
/**
 * Before the latency phases: the bulk rows of the phases before are vacuumed and written out
 * now, so neither an autovacuum nor a checkpoint that they set off runs during a measurement.
 */
async function settle(stack: Stack): Promise<void> {
  console.error('bench: settling (VACUUM ANALYZE log_lines, CHECKPOINT)…');
  await stack.query('VACUUM (ANALYZE) log_lines');
  await stack.query('CHECKPOINT');
}

function rememberPids(stack: Stack, appByPid: Map<number, string>): void {
  for (const [name, app] of stack.apps) appByPid.set(app.pid, name);
}

async function profilesIn(
  dir: string,
  since: number,
  appByPid: Map<number, string>,
): Promise<string[]> {
  const files: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (!name.endsWith('.cpuprofile')) continue;
    if ((await stat(join(dir, name))).mtimeMs < since) continue;
    const pid = Number(/^CPU\.[^.]+\.[^.]+\.(\d+)\./.exec(name)?.[1]);
    files.push(`${join(dir, name)}  (${appByPid.get(pid) ?? 'unknown'})`);
  }
  return files;
}

async function run(options: BenchOptions): Promise<BenchFigures> {
  const began = Date.now();
  const profileDir = options.cpuProf && resolve(options.cpuProf);
  if (profileDir) {
    if (/\s/.test(profileDir)) throw new Error('--cpu-prof: a directory without spaces, please');
    await mkdir(profileDir, { recursive: true });
    // test/support/processes passes AEGIR_NODE_ARGS (space-separated) to every app it starts
    process.env.AEGIR_NODE_ARGS = [
      process.env.AEGIR_NODE_ARGS,
      '--cpu-prof',
      `--cpu-prof-dir=${profileDir}`,
    ]
      .filter(Boolean)
      .join(' ');
  }
  const runs = (phase: (typeof PHASES)[number]): boolean => !options.skip.has(phase);
  console.error(`bench: starting the stack…`);
  const stack = await Stack.start({
    prefix: 'aegir_bench',
    env: {
      dispatcher: {
        DISPATCHER_CONCURRENCY: String(
          Math.max(4, options.operations, options.lineOperations, options.sseOperations),
        ),
      },
    },
  });
  // Ctrl-C or a TERM still removes the database, vhost, processes and directories
  const interrupted = (signal: NodeJS.Signals): void => {
    interruptedBy = signal;
    console.error(`bench: ${signal}, cleaning up…`);
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  const appByPid = new Map<number, string>();
  rememberPids(stack, appByPid);
  const figures: Omit<BenchFigures, 'targets'> = {
    options: { ...options, skip: [...options.skip] },
    notes: [...NOTES],
  };
  if (options.skip.size > 0) figures.notes.push(`skipped: ${[...options.skip].join(', ')}`);
  try {
    if (runs('throughput')) {
      console.error(`bench: 1. throughput, ${options.operations} × ${options.lines} lines…`);
      figures.throughput = await measureThroughput(stack, options.operations, options.lines);
    }
    if (runs('limit')) {
      console.error('bench: 2. the limit (same table, one connection)…');
      const rows = options.operations * options.lines;
      const limit = await measureLimit(stack.db.url, rows, options.perLineSample);
      figures.limit = limit;
      const ours = figures.throughput?.linesPerSecond;
      if (ours !== undefined) {
        figures.ratio = {
          ofCopy: ours / limit.copyRowsPerSecond,
          ofUnnest: ours / limit.unnestRowsPerSecond,
          ofPerLine: ours / limit.perLineRowsPerSecond,
        };
      }
    }
    if (runs('start') || runs('lines')) await settle(stack);
    if (runs('start')) {
      console.error(`bench: 3. POST → started, ${options.latencyOperations} at ${options.rate}/s…`);
      figures.startLatency = await measureStartLatency(
        stack,
        options.latencyOperations,
        options.rate,
      );
    }
    if (runs('lines')) {
      console.error(
        `bench: 3. line → committed, ${options.lineRate} lines/s for ${options.lineSeconds} s…`,
      );
      figures.lineLatency = await measureLineLatency(
        stack,
        options.lineRate,
        options.lineSeconds,
        options.lineOperations,
      );
    }
    if (runs('sse')) {
      console.error(
        `bench: 5. live log, ${options.sseStreams} SSE streams over ${options.sseOperations} operations at ${options.sseRate} lines/s for ${options.sseSeconds} s…`,
      );
      figures.sse = await measureSse(
        stack,
        options.sseStreams,
        options.sseOperations,
        options.sseRate,
        options.sseSeconds,
        options.sseDelay,
      );
    }
    if (runs('big')) {
      console.error(`bench: 4. one task printing ${options.bigMb} MB…`);
      rememberPids(stack, appByPid);
      figures.big = await measureBig(stack, options.bigMb);
      rememberPids(stack, appByPid);
    }
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await stack.stop();
  }
  if (profileDir) {
    // written by each app on its graceful exit (Stack.stop sends SIGTERM)
    figures.cpuProfiles = {
      dir: profileDir,
      files: await profilesIn(profileDir, began, appByPid),
    };
  }
  for (const [phase, cpu] of [
    ['1. throughput', figures.throughput?.cpu],
    ['3. POST → started', figures.startLatency?.cpu],
    ['4. big task', figures.big?.cpu],
  ] as const) {
    const rest = cpu?.groups.find((group) => group.name === 'rest of the machine')?.cpu;
    if (rest && rest.share > 0.1) {
      figures.notes.push(
        `${phase}: other work on this machine took ${(rest.share * 100).toFixed(0)} % of its ` +
          'CPU during the phase: these figures are not those of an otherwise idle machine',
      );
    }
  }
  return { ...figures, targets: targetsOf(figures) };
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
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const figures = await run(options);
  printTable(figures);
  if (options.json) {
    await writeFile(options.json, `${JSON.stringify(figures, null, 2)}\n`);
    console.error(`bench: figures written to ${options.json}`);
  }
}

main().catch((error: unknown) => {
  if (interruptedBy) return;
  console.error(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
});
