import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * What PostgreSQL itself does with the same rows on one connection, into the same
 * log_lines table: the ceiling our pipeline is compared with.
 */
export interface LimitFigures {
  rows: number;
  /** One COPY … FROM STDIN (text format) of all the rows, one transaction. */
  copySeconds: number;
  copyRowsPerSecond: number;
  /** INSERT … SELECT FROM unnest, UNNEST_CHUNK rows per autocommit statement. */
  unnestSeconds: number;
  unnestRowsPerSecond: number;
  perLineSampleRows: number;
  perLineSampleSeconds: number;
  /** Extrapolated from the sample: rows/s of one autocommit INSERT per line. */
  perLineRowsPerSecond: number;
  perLineExtrapolatedSeconds: number;
}

export const UNNEST_CHUNK = 10_000;
/** The column list the relay writes; explicit, so it holds with or without an `id` column. */
const COLUMNS = '(operation_id, task_id, seq, stream, line, emitted_at, continues)';

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

/** COPY text rows like the throughput run's lines: `line N` on stdout, one chunk per UNNEST_CHUNK. */
export function copyChunks(operationId: string, rows: number, emittedAt: string): string[] {
  const chunks: string[] = [];
  for (let start = 1; start <= rows; start += UNNEST_CHUNK) {
    let text = '';
    for (let seq = start; seq < Math.min(start + UNNEST_CHUNK, rows + 1); seq++) {
      text += `${operationId}\t\\N\t${seq}\tstdout\tline ${seq}\t${emittedAt}\tf\n`;
    }
    chunks.push(text);
  }
  return chunks;
}

export async function measureLimit(
  databaseUrl: string,
  rows: number,
  perLineSample: number,
): Promise<LimitFigures> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'aegir-bench' });
  await client.connect();
  try {
    const emittedAt = new Date();

    // COPY: the rows are built before the clock starts, as the relay's batches are built
    // before its transaction.
    const copyId = await dummyOperation(client, 'copy');
    const text = copyChunks(copyId, rows, emittedAt.toISOString());
    const copyStarted = process.hrtime.bigint();
    await pipeline(
      Readable.from(text),
      client.query(copyFrom(`COPY log_lines ${COLUMNS} FROM STDIN`)),
    );
    const copySeconds = secondsSince(copyStarted);

    // unnest: multi-row INSERT … SELECT in chunks (a bulk write that can skip duplicates).
    const unnestId = await dummyOperation(client, 'unnest');
    const chunks: { seqs: number[]; lines: string[] }[] = [];
    for (let start = 1; start <= rows; start += UNNEST_CHUNK) {
      const seqs: number[] = [];
      const lines: string[] = [];
      for (let seq = start; seq < Math.min(start + UNNEST_CHUNK, rows + 1); seq++) {
        seqs.push(seq);
        lines.push(`line ${seq}`);
      }
      chunks.push({ seqs, lines });
    }
    const unnestStarted = process.hrtime.bigint();
    for (const { seqs, lines } of chunks) {
      await client.query(
        `INSERT INTO log_lines ${COLUMNS}
         SELECT $1, NULL, s, 'stdout', l, $4, false FROM unnest($2::bigint[], $3::text[]) AS t(s, l)`,
        [unnestId, seqs, lines, emittedAt],
      );
    }
    const unnestSeconds = secondsSince(unnestStarted);

    // Per line: one autocommit INSERT per row, a sample, extrapolated to `rows`.
    const perLineId = await dummyOperation(client, 'per-line');
    const sample = Math.min(perLineSample, rows);
    const perLineStarted = process.hrtime.bigint();
    for (let seq = 1; seq <= sample; seq++) {
      await client.query(
        `INSERT INTO log_lines ${COLUMNS} VALUES ($1, NULL, $2, 'stdout', $3, $4, false)`,
        [perLineId, seq, `line ${seq}`, emittedAt],
      );
    }
    const perLineSampleSeconds = secondsSince(perLineStarted);
    const perLineRowsPerSecond = sample / perLineSampleSeconds;
    return {
      rows,
      copySeconds,
      copyRowsPerSecond: rows / copySeconds,
      unnestSeconds,
      unnestRowsPerSecond: rows / unnestSeconds,
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
