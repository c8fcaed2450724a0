import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** One line of the fault suite's report: what a scenario emitted, stored and ended with. */
export interface ReportRow {
  scenario: string;
  /** Lines the operations said they emitted (operations.line_count), summed. */
  emitted: number;
  /** Rows in log_lines for them. */
  stored: number;
  /** Stored texts that are there more than once, though unique by construction. */
  duplicates: number;
  /** Final status of each operation, in order of creation. */
  statuses: string[];
  seconds: number;
  result: 'pass' | 'FAIL';
  /** Peak resident set size per app, in MiB, where the scenario measured it. */
  peakRssMiB?: Record<string, number>;
  note?: string;
}

/**
 * `$AEGIR_FAULTS_REPORT`, else `faults-report.jsonl` in the compiled tree this file runs
 * from (dist/faults-report.jsonl for `npm run test:faults`).
 */
export function reportPath(): string {
  return resolve(
    process.env.AEGIR_FAULTS_REPORT || resolve(__dirname, '..', '..', 'faults-report.jsonl'),
  );
}

export async function resetReport(): Promise<void> {
  await mkdir(dirname(reportPath()), { recursive: true });
  await writeFile(reportPath(), '');
}

export async function appendRow(row: ReportRow): Promise<void> {
  await mkdir(dirname(reportPath()), { recursive: true });
  await appendFile(reportPath(), `${JSON.stringify(row)}\n`);
}

export async function readReport(): Promise<ReportRow[]> {
  const text = await readFile(reportPath(), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ReportRow);
}
