import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, percentiles, splitEvenly } from './stats';

describe('bench stats', () => {
  void it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 50);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile(sorted, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.throws(() => percentile([], 50), /no values/);
  });

  void it('summarises values in any order, leaving them as they were', () => {
    const values = [5, 1, 4, 2, 3];
    assert.deepEqual(percentiles(values), { count: 5, p50: 3, p95: 5, p99: 5, max: 5 });
    assert.deepEqual(values, [5, 1, 4, 2, 3]);
  });

  void it('splits a rate evenly', () => {
    assert.deepEqual(splitEvenly(10_000, 3), [3334, 3333, 3333]);
    assert.deepEqual(splitEvenly(4, 4), [1, 1, 1, 1]);
    assert.equal(
      splitEvenly(9_999, 7).reduce((a, b) => a + b),
      9_999,
    );
  });
});
