/** The benchmark's flags: `--operations N`, `--lines N`, `--json PATH`. */
export interface BenchOptions {
  operations: number;
  lines: number;
  /** Operations created at `rate` per second for the POST → started latency. */
  latencyOperations: number;
  rate: number;
  json?: string;
}

export const USAGE =
  'usage: bench [--operations N (default 20)] [--lines N (default 20000)]' +
  ' [--latency-operations N (default 200)] [--rate N operations/s (default 50)] [--json PATH]';

// test.lines accepts count 1..1 000 000; the others keep a run on this machine sane
const MAXIMUM = {
  '--operations': 500,
  '--lines': 1_000_000,
  '--latency-operations': 10_000,
  '--rate': 1_000,
} as const;
const KEY = {
  '--operations': 'operations',
  '--lines': 'lines',
  '--latency-operations': 'latencyOperations',
  '--rate': 'rate',
} as const;

/** Parses argv (without node and the script); throws naming the flag at fault. */
export function parseArgs(argv: string[]): BenchOptions {
  const options: BenchOptions = { operations: 20, lines: 20_000, latencyOperations: 200, rate: 50 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag !== '--json' && !(flag in MAXIMUM)) {
      throw new Error(`unknown argument ${JSON.stringify(flag)}`);
    }
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === '--json') {
      options.json = value;
      continue;
    }
    const name = flag as keyof typeof MAXIMUM;
    if (!/^[1-9][0-9]*$/.test(value) || Number(value) > MAXIMUM[name]) {
      throw new Error(
        `${flag} must be an integer from 1 to ${MAXIMUM[name]}, got ${JSON.stringify(value)}`,
      );
    }
    options[KEY[name]] = Number(value);
  }
  return options;
}
