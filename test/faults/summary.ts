import { readReport, reportPath, type ReportRow } from './report';

/** Prints the fault suite's report as a table; exits 1 when it is empty or a scenario failed. */
async function main(): Promise<void> {
  const rows = await readReport();
  if (rows.length === 0) {
    process.stderr.write(`no scenario reported to ${reportPath()}\n`);
    process.exit(1);
  }
  process.stdout.write(formatTable(rows));
  if (rows.some((row) => row.result !== 'pass')) process.exit(1);
}

export function formatTable(rows: ReportRow[]): string {
  const header = [
    'scenario',
    'emitted',
    'stored',
    'duplicates',
    'final status',
    'seconds',
    'result',
    'peak RSS MiB',
  ];
  const cells = rows.map((row) => [
    row.scenario,
    String(row.emitted),
    String(row.stored),
    String(row.duplicates),
    summariseStatuses(row.statuses),
    row.seconds.toFixed(1),
    row.result,
    row.peakRssMiB
      ? Object.entries(row.peakRssMiB)
          .map(([app, mib]) => `${app} ${mib}`)
          .join(', ')
      : '',
  ]);
  const numeric = new Set([1, 2, 3, 5]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((c) => c[i].length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => (numeric.has(i) ? value.padStart(widths[i]) : value.padEnd(widths[i])))
      .join(' | ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('-|-');
  const notes = rows
    .filter((row) => row.note)
    .map((row) => `  ${row.scenario}: ${row.note}`)
    .join('\n');
  return [line(header), rule, ...cells.map(line), ...(notes ? ['', 'notes:', notes] : []), ''].join(
    '\n',
  );
}

/** `succeeded ×3` rather than the same word three times. */
function summariseStatuses(statuses: string[]): string {
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts]
    .map(([status, count]) => (count > 1 ? `${status} ×${count}` : status))
    .join(', ');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
