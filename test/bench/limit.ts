import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

/**
 * What PostgreSQL itself does with the same rows on one connection, into the same
 * log_lines table: the ceiling our pipeline is compared with.
 */
export interface LimitFigures {
  bulkMethod: string;
  bulkRows: number;
  bulkSeconds: number;
  bulkRowsPerSecond: number;
  perLineSampleRows: number;
  perLineSampleSeconds: number;
  /** Extrapolated from the sample: rows/s of one autocommit INSERT per line. */
  perLineRowsPerSecond: number;
  perLineExtrapolatedSeconds: number;
}

const CHUNK = 10_000;
export const PER_LINE_SAMPLE = 20_000;

/** A finished operation row of its own, so its lines share the table but no seq with ours. */
async function dummyOperation(client: Client, label: string): Promise<string> {
  const id = randomUUID();
  await client.query(
    `INSERT INTO operations (id, type, target, pool, status, line_count, finished_at)
     VALUES ($1, 'bench.limit', $2, 'bench', 'succeeded', 0, now())`,
    [id, `bench-${label}-${id}`],
  );
  return id;
}

export async function measureLimit(databaseUrl: string, rows: number): Promise<LimitFigures> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'aegir-bench' });
  await client.connect();
  try {
    // Bulk: multi-row INSERT … SELECT FROM unnest in chunks (pg-copy-streams is not installed).
    const bulkId = await dummyOperation(client, 'bulk');
    const emittedAt = new Date();
    const chunks: { seqs: number[]; lines: string[] }[] = [];
    for (let start = 1; start <= rows; start += CHUNK) {
      const seqs: number[] = [];
      const lines: string[] = [];
      for (let seq = start; seq < Math.min(start + CHUNK, rows + 1); seq++) {
        seqs.push(seq);
        lines.push(`line ${seq}`);
      }
      chunks.push({ seqs, lines });
    }
    const bulkStarted = process.hrtime.bigint();
    for (const { seqs, lines } of chunks) {
      await client.query(
        `INSERT INTO log_lines (operation_id, task_id, seq, stream, line, emitted_at)
         SELECT $1, NULL, s, 'stdout', l, $4 FROM unnest($2::bigint[], $3::text[]) AS t(s, l)`,
        [bulkId, seqs, lines, emittedAt],
      );
    }
    const bulkSeconds = secondsSince(bulkStarted);

    // Per line: one autocommit INSERT per row, a sample, extrapolated to `rows`.
    const perLineId = await dummyOperation(client, 'per-line');
    const sample = Math.min(PER_LINE_SAMPLE, rows);
    const perLineStarted = process.hrtime.bigint();
    for (let seq = 1; seq <= sample; seq++) {
      await client.query(
        `INSERT INTO log_lines (operation_id, task_id, seq, stream, line, emitted_at)
         VALUES ($1, NULL, $2, 'stdout', $3, $4)`,
        [perLineId, seq, `line ${seq}`, emittedAt],
      );
    }
    const perLineSampleSeconds = secondsSince(perLineStarted);
    const perLineRowsPerSecond = sample / perLineSampleSeconds;
    return {
      bulkMethod: `INSERT … SELECT FROM unnest, ${CHUNK} rows per statement (pg-copy-streams not installed, so no COPY)`,
      bulkRows: rows,
      bulkSeconds,
      bulkRowsPerSecond: rows / bulkSeconds,
      perLineSampleRows: sample,
      perLineSampleSeconds,
      perLineRowsPerSecond,
      perLineExtrapolatedSeconds: rows / perLineRowsPerSecond,
    };
  } finally {
    await client.end();
  }
}

export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
