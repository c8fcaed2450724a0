import type { BigFigures } from './big';
import type { CpuProfile } from './cpu';
import type { LatencyFigures } from './latency';
import type { LimitFigures } from './limit';
import type { LineLatencyFigures } from './line-latency';
import type { SseFigures } from './sse';
import type { ThroughputFigures } from './throughput';

/** Everything one run measured; a phase skipped is absent. */
export interface BenchFigures {
  options: Record<string, unknown>;
  throughput?: ThroughputFigures;
  limit?: LimitFigures;
  /** Our printed lines/s over each baseline's rows/s. */
  ratio?: { ofCopy: number; ofUnnest: number; ofPerLine: number };
  startLatency?: LatencyFigures;
  lineLatency?: LineLatencyFigures;
  big?: BigFigures;
  sse?: SseFigures;
  targets: Target[];
  cpuProfiles?: { dir: string; files: string[] };
  notes: string[];
}

/** A target of issue 4 and whether this run met it. */
export interface Target {
  name: string;
  value: number;
  target: string;
  met: boolean;
}

/** 250 MB (the figure, in bytes) as the MiB /proc reports. */
const RSS_LIMIT_MIB = 250e6 / 2 ** 20;

export function targetsOf(figures: Omit<BenchFigures, 'targets'>): Target[] {
  const targets: Target[] = [];
  const add = (name: string, value: number, target: string, met: boolean): void => {
    targets.push({ name, value, target, met });
  };
  const { throughput: t, ratio, lineLatency: l, startLatency: s, big } = figures;
  if (t) add('throughput (lines/s)', t.linesPerSecond, '≥ 100 000', t.linesPerSecond >= 100_000);
  if (ratio) add('ours / COPY (%)', ratio.ofCopy * 100, '≥ 60', ratio.ofCopy >= 0.6);
  if (l) add('line → committed p99 (ms)', l.p99Ms, '≤ 100', l.p99Ms <= 100);
  if (s) {
    add('POST → started p50 (ms)', s.p50Ms, '≤ 20', s.p50Ms <= 20);
    add('POST → started p99 (ms)', s.p99Ms, '≤ 100', s.p99Ms <= 100);
  }
  const rss = (phase: string, peak: { relay: number; dispatcher: number }): void => {
    for (const app of ['relay', 'dispatcher'] as const) {
      add(
        `${app} peak RSS, ${phase} (MiB)`,
        peak[app],
        '≤ 238.4 (250 MB)',
        peak[app] <= RSS_LIMIT_MIB,
      );
    }
  };
  const sse = figures.sse;
  if (sse) {
    add('SSE streams fallen behind', sse.streamsBehind, '0', sse.streamsBehind === 0);
    add(
      'SSE committed → delivered p99 (ms)',
      sse.committedToDelivered.p99Ms,
      '≤ 250',
      sse.committedToDelivered.p99Ms <= 250,
    );
    add(
      'api peak RSS, SSE (MiB)',
      sse.apiPeakRssMiB,
      '≤ 238.4 (250 MB)',
      sse.apiPeakRssMiB <= RSS_LIMIT_MIB,
    );
  }
  if (t) rss('throughput', t.peakRssMiB);
  if (big) rss(`${big.megabytes} MB task`, big.peakRssMiB);
  return targets;
}

function fixed(value: number, digits = 2): string {
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

const percent = (share: number): string => `${fixed(share * 100, 1)} %`;

function cpuRows(phase: string, cpu: CpuProfile): [string, string][] {
  const capacity = cpu.wallSeconds * cpu.cores;
  return [
    [
      `CPU, ${phase}`,
      `wall ${fixed(cpu.wallSeconds, 1)} s × ${cpu.cores} cores = ${fixed(capacity, 1)} CPU-s; ` +
        `machine busy ${fixed(cpu.machineBusy.seconds, 1)} CPU-s (${percent(cpu.machineBusy.share)})`,
    ],
    ...cpu.groups.map(({ name, cpu: used }): [string, string] => [
      `  ${name}`,
      `${fixed(used.seconds, 1).padStart(6)} CPU-s  ${percent(used.share).padStart(7)}`,
    ]),
  ];
}

export function printTable(figures: BenchFigures): void {
  const { throughput: t, limit: l, ratio, startLatency: s, lineLatency: ll, big } = figures;
  const rows: [string, string][] = [];
  if (t) {
    rows.push(
      ['operations × lines', `${t.operations} × ${t.linesPerOperation}`],
      ['1. POSTs answered (s)', fixed(t.postSeconds, 3)],
      ['1. first POST → all succeeded (s)', fixed(t.secondsToAllSucceeded, 3)],
      ['1. first POST → every task started (s)', fixed(t.secondsToAllStarted, 3)],
      ['1. first POST → every task finished (s)', fixed(t.secondsToAllFinished, 3)],
      ['1. first POST → last line committed (s)', fixed(t.secondsToLastLineCommitted, 3)],
      ['1. succeeded', `${t.succeeded} / ${t.operations}`],
      ['1. rows stored (incl. system lines)', String(t.rowsStored)],
      ['1. throughput (printed lines/s)', fixed(t.linesPerSecond, 0)],
    );
  }
  if (l) {
    rows.push(
      [
        '2. COPY, one connection (rows/s)',
        `${fixed(l.copyRowsPerSecond, 0)}  [${l.rows} rows, one COPY FROM STDIN, ${fixed(l.copySeconds, 3)} s]`,
      ],
      [
        '2. unnest INSERT (rows/s)',
        `${fixed(l.unnestRowsPerSecond, 0)}  [10 000 rows a statement, ${fixed(l.unnestSeconds, 3)} s]`,
      ],
      [
        '2. one INSERT per line (rows/s)',
        `${fixed(l.perLineRowsPerSecond, 0)}  [${l.perLineSampleRows < l.rows ? 'extrapolated from' : 'measured:'} ${l.perLineSampleRows} autocommit INSERTs in ${fixed(l.perLineSampleSeconds, 2)} s]`,
      ],
    );
  }
  if (ratio) {
    rows.push(
      ['2. ours / COPY', percent(ratio.ofCopy)],
      ['2. ours / unnest INSERT', percent(ratio.ofUnnest)],
      ['2. ours / one INSERT per line', `${fixed(ratio.ofPerLine, 1)} ×`],
    );
  }
  if (ll) {
    rows.push([
      '3. line printed → committed (ms)',
      `p50 ${fixed(ll.p50Ms, 1)}  p95 ${fixed(ll.p95Ms, 1)}  p99 ${fixed(ll.p99Ms, 1)}  max ${fixed(ll.maxMs, 1)}` +
        `  [${ll.linesMeasured} of ${ll.linesPrinted} lines at ${ll.ratePerSecond}/s for ${ll.seconds} s` +
        ` (achieved ${fixed(ll.achievedRatePerSecond, 0)}/s), ${ll.operations} operation(s),` +
        ` ${ll.notifications} notifications, ${ll.linesSwept} swept]`,
    ]);
    rows.push([
      '3. line printed → stored_at (ms)',
      `p50 ${fixed(ll.storedAt.p50Ms, 1)}  p99 ${fixed(ll.storedAt.p99Ms, 1)}  [lower bound: the transaction's start]`,
    ]);
  }
  if (s) {
    rows.push([
      '3. POST → task started (ms)',
      `p50 ${s.p50Ms}  p95 ${s.p95Ms}  p99 ${s.p99Ms}  max ${s.maxMs}  [${s.operations} ops at ${s.ratePerSecond}/s, achieved ${fixed(s.achievedRatePerSecond, 1)}/s]`,
    ]);
  }
  if (t) {
    rows.push(
      ['4. relay peak RSS, throughput (MiB)', fixed(t.peakRssMiB.relay, 1)],
      ['4. dispatcher peak RSS, throughput (MiB)', fixed(t.peakRssMiB.dispatcher, 1)],
    );
  }
  if (big) {
    rows.push(
      [
        `4. ${big.megabytes} MB task (lines/s)`,
        `${fixed(big.linesPerSecond, 0)}  [${big.linesPrinted} lines of 1000 bytes in ${fixed(big.seconds, 1)} s, ${fixed(big.megabytesPerSecond, 1)} MB/s, ${big.status}]`,
      ],
      [
        `4. ${big.megabytes} MB task, every line stored`,
        `${big.everyLineStored ? 'yes' : 'NO'}  [${big.rowsStored} rows, line_count ${big.lineCount}, ${big.printedLinesStored} printed lines whole]`,
      ],
      [`4. relay peak RSS, ${big.megabytes} MB task (MiB)`, fixed(big.peakRssMiB.relay, 1)],
      [
        `4. dispatcher peak RSS, ${big.megabytes} MB task (MiB)`,
        fixed(big.peakRssMiB.dispatcher, 1),
      ],
    );
  }
  const sse = figures.sse;
  if (sse) {
    const c = sse.committedToDelivered;
    rows.push(
      [
        '5. SSE lines delivered (lines/s)',
        `${fixed(sse.deliveredPerSecond, 0)}  [${sse.linesDelivered} to ${sse.streams} streams over ${sse.operations} operations, ${sse.linesStored} stored at ${sse.ratePerSecond}/s for ${sse.seconds} s]`,
      ],
      [
        '5. SSE committed → delivered (ms)',
        `p50 ${fixed(c.p50Ms, 1)}  p99 ${fixed(c.p99Ms, 1)}  max ${fixed(c.maxMs, 1)}  [${c.count} deliveries of lines committed after every stream was open]`,
      ],
      ['5. SSE streams fallen behind', `${sse.streamsBehind} of ${sse.streams}`],
      ['5. SSE all streams open after (s)', fixed(sse.openSeconds, 2)],
      ['5. SSE events per stream and second', fixed(sse.eventsPerStreamSecond, 1)],
      ['5. api CPU, SSE (cores)', fixed(sse.apiCpuShare, 2)],
      ['5. api peak RSS, SSE (MiB)', fixed(sse.apiPeakRssMiB, 1)],
    );
  }
  if (t) rows.push(...cpuRows('1. throughput', t.cpu));
  if (s) rows.push(...cpuRows('3. POST → started', s.cpu));
  if (big) rows.push(...cpuRows(`4. ${big.megabytes} MB task`, big.cpu));
  if (sse) rows.push(...cpuRows('5. SSE', sse.cpu));

  const width = Math.max(...rows.map(([name]) => name.length));
  console.log('\nAegir Queue benchmark\n');
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
  console.log('\ntargets (issue 4)');
  for (const target of figures.targets) {
    const value = fixed(target.value, target.value >= 1000 ? 0 : 1);
    console.log(
      `  ${target.met ? 'met   ' : 'MISSED'}  ${target.name}: ${value} (${target.target})`,
    );
  }
  console.log('\nnotes');
  for (const note of figures.notes) console.log(`  - ${note}`);
  if (figures.cpuProfiles) {
    console.log(`\nCPU profiles in ${figures.cpuProfiles.dir}:`);
    for (const file of figures.cpuProfiles.files) console.log(`  ${file}`);
  }
}
