import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyChunks, UNNEST_CHUNK } from './limit';

describe('bench copyChunks', () => {
  void it('writes COPY text rows like the throughput run, in chunks', () => {
    const at = '2025-01-01T00:00:00.000Z';
    const chunks = copyChunks('op', UNNEST_CHUNK + 2, at);
    assert.equal(chunks.length, 2);
    const rows = chunks.join('').split('\n').slice(0, -1);
    assert.equal(rows.length, UNNEST_CHUNK + 2);
    assert.equal(rows[0], `op\t\\N\t1\tstdout\tline 1\t${at}\tf`);
    assert.equal(rows[rows.length - 1].split('\t')[2], String(UNNEST_CHUNK + 2));
  });
});
