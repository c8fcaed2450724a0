/** The benchmark's phases, in the order they run; `--skip` names some of them. */
export const PHASES = ['throughput', 'limit', 'start', 'lines', 'sse', 'big'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  /** 1. Operations × lines, all created at once. */
  operations: number;
  lines: number;
  /** 2. Autocommit INSERTs timed for the per-line baseline (extrapolated to all rows). */
  perLineSample: number;
  /** 3. Operations created at `rate` per second for the POST → started latency. */
  latencyOperations: number;
  rate: number;
  /** 3. Lines per second, for how long, over how many operations, for line → committed. */
  lineRate: number;
  lineSeconds: number;
  lineOperations: number;
  /** 5. SSE streams on the one api, over how many test.rate operations, sharing what rate, how long. */
  sseStreams: number;
  sseOperations: number;
  sseRate: number;
  sseSeconds: number;
  sseDelay: number;
  /** 4. MB (10^6 bytes) printed by one task while peak RSS is measured; 0 skips. */
  bigMb: number;
  skip: Set<Phase>;
  json?: string;
  /** Directory the apps write .cpuprofile files to (node --cpu-prof). */
  cpuProf?: string;
  help: boolean;
}

export const USAGE = `usage: bench [flags]
  --operations N          1. operations created at once (default 20, max 500)
  --lines N               1. lines each prints (default 20000, max 1000000)
  --per-line-sample N     2. one-INSERT-per-line rows timed, then extrapolated (default 20000)
  --latency-operations N  3. operations for POST → started (default 200)
  --rate N                3. their creation rate, operations/s (default 50)
  --line-rate N           3. lines/s for line printed → committed (default 10000)
  --line-seconds N        3. for how long (default 10)
  --line-operations N     3. over how many operations, sharing the rate (default 1)
  --sse-streams N         5. live-log streams open on the one api (default 1000)
  --sse-operations N      5. over how many operations, round robin (default 50)
  --sse-rate N            5. lines/s all of them together (default 10000)
  --sse-seconds N         5. for how long (default 10)
  --sse-delay N           5. seconds the operations stay silent first, while the streams open (default 10)
  --big-mb N              4. MB one task prints for peak RSS (default 1000; 0 skips)
  --skip LIST             phases left out, comma-separated: ${PHASES.join(',')}
  --cpu-prof DIR          the apps write V8 CPU profiles (.cpuprofile) into DIR
  --json PATH             also write every figure as JSON
  --help                  this text`;

/** Integer flags: [option key, minimum, maximum]. */
const INTEGERS = {
  '--operations': ['operations', 1, 500],
  '--lines': ['lines', 1, 1_000_000], // test.lines accepts 1..1 000 000
  '--per-line-sample': ['perLineSample', 1, 1_000_000],
  '--latency-operations': ['latencyOperations', 1, 10_000],
  '--rate': ['rate', 1, 1_000],
  '--line-rate': ['lineRate', 1, 100_000],
  '--line-seconds': ['lineSeconds', 1, 600],
  '--line-operations': ['lineOperations', 1, 50],
  '--sse-streams': ['sseStreams', 1, 10_000],
  '--sse-operations': ['sseOperations', 1, 200],
  '--sse-rate': ['sseRate', 1, 100_000],
  '--sse-seconds': ['sseSeconds', 1, 600],
  '--sse-delay': ['sseDelay', 0, 600],
  '--big-mb': ['bigMb', 0, 10_000], // test.big: 1000 lines of 1000 bytes per MB, ≤ 10^7 lines
} as const;

type IntegerFlag = keyof typeof INTEGERS;

export function defaultOptions(): BenchOptions {
  return {
    operations: 20,
    lines: 20_000,
    perLineSample: 20_000,
    latencyOperations: 200,
    rate: 50,
    lineRate: 10_000,
    lineSeconds: 10,
    lineOperations: 1,
    sseStreams: 1000,
    sseOperations: 50,
    sseRate: 10_000,
    sseSeconds: 10,
    sseDelay: 10,
    bigMb: 1000,
    skip: new Set(),
    help: false,
  };
}

/** Parses argv (without node and the script); throws naming the flag at fault. */
export function parseArgs(argv: string[]): BenchOptions {
  const options = defaultOptions();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help') {
      options.help = true;
      continue;
    }
    if (!(flag in INTEGERS) && !['--json', '--cpu-prof', '--skip'].includes(flag)) {
      throw new Error(`unknown argument ${JSON.stringify(flag)}`);
    }
    const value = argv[++i];
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
    if (flag === '--json') options.json = value;
    else if (flag === '--cpu-prof') options.cpuProf = value;
    else if (flag === '--skip') options.skip = parseSkip(value);
    else {
      const [key, minimum, maximum] = INTEGERS[flag as IntegerFlag];
      if (!/^(0|[1-9][0-9]*)$/.test(value) || Number(value) < minimum || Number(value) > maximum) {
        throw new Error(
          `${flag} must be an integer from ${minimum} to ${maximum}, got ${JSON.stringify(value)}`,
        );
      }
      options[key] = Number(value);
    }
  }
  if (options.lineRate < options.lineOperations) {
    throw new Error('--line-rate must be at least --line-operations (each prints ≥ 1 line/s)');
  }
  if (options.sseRate < options.sseOperations) {
    throw new Error('--sse-rate must be at least --sse-operations (each prints ≥ 1 line/s)');
  }
  if (options.bigMb === 0) options.skip.add('big');
  return options;
}

function parseSkip(value: string): Set<Phase> {
  const skip = new Set<Phase>();
  for (const name of value.split(',')) {
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new Error(
        `--skip: unknown phase ${JSON.stringify(name)} (phases: ${PHASES.join(', ')})`,
      );
    }
    skip.add(name as Phase);
  }
  return skip;
}
