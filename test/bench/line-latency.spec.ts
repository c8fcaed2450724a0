import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrinted } from './line-latency';

describe('bench parsePrinted', () => {
  void it('reads the print time and number of a test.rate line', () => {
    assert.deepEqual(parsePrinted('printed 1796069620892313 42'), {
      printedUs: 1796069620892313,
      n: 42,
    });
  });

  void it('ignores any other line', () => {
    assert.equal(parsePrinted('line 1'), undefined);
    assert.equal(parsePrinted('printed 12 x'), undefined);
    assert.equal(parsePrinted(' printed 1 2'), undefined);
  });
});
