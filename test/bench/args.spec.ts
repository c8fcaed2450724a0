import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultOptions, parseArgs } from './args';

describe('bench parseArgs', () => {
  void it('gives the defaults for no arguments', () => {
    assert.deepEqual(parseArgs([]), defaultOptions());
    assert.equal(parseArgs([]).lineRate, 10_000);
    assert.equal(parseArgs([]).bigMb, 1000);
  });

  void it('reads every flag', () => {
    const options = parseArgs([
      ...['--operations', '5', '--lines', '100', '--per-line-sample', '50'],
      ...['--latency-operations', '7', '--rate', '20', '--line-rate', '2000'],
      ...['--line-seconds', '3', '--line-operations', '2', '--big-mb', '10'],
      ...[
        '--sse-streams',
        '30',
        '--sse-operations',
        '3',
        '--sse-rate',
        '300',
        '--sse-seconds',
        '2',
        '--sse-delay',
        '0',
      ],
      ...['--skip', 'limit,sse', '--json', '/tmp/b.json', '--cpu-prof', '/tmp/prof'],
    ]);
    assert.deepEqual(options, {
      operations: 5,
      lines: 100,
      perLineSample: 50,
      latencyOperations: 7,
      rate: 20,
      lineRate: 2000,
      lineSeconds: 3,
      lineOperations: 2,
      sseStreams: 30,
      sseOperations: 3,
      sseRate: 300,
      sseSeconds: 2,
      sseDelay: 0,
      bigMb: 10,
      skip: new Set(['limit', 'sse']),
      json: '/tmp/b.json',
      cpuProf: '/tmp/prof',
      help: false,
    });
  });

  void it('skips the big task for --big-mb 0', () => {
    const options = parseArgs(['--big-mb', '0']);
    assert.equal(options.bigMb, 0);
    assert.ok(options.skip.has('big'));
  });

  void it('takes --help', () => {
    assert.equal(parseArgs(['--help']).help, true);
  });

  void it('refuses bad values, naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [['--operations', '0'], /--operations must be an integer from 1 to 500/],
      [['--operations', '501'], /--operations must be/],
      [['--lines', '1.5'], /--lines must be/],
      [['--lines', '-3'], /--lines needs a value|--lines must be/],
      [['--rate', '007'], /--rate must be/],
      [['--big-mb', '10001'], /--big-mb must be an integer from 0 to 10000/],
      [['--lines'], /--lines needs a value/],
      [['--json', '--lines', '3'], /--json needs a value/],
      [['--skip', 'limit,nope'], /--skip: unknown phase "nope"/],
      [['--frobnicate', '1'], /unknown argument "--frobnicate"/],
      [['--line-rate', '2', '--line-operations', '3'], /--line-rate must be at least/],
      [['--sse-rate', '2', '--sse-operations', '3'], /--sse-rate must be at least/],
      [['--sse-streams', '0'], /--sse-streams must be an integer from 1 to 10000/],
    ];
    for (const [argv, message] of cases) {
      assert.throws(() => parseArgs(argv), message, argv.join(' '));
    }
  });
});
