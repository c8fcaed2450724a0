import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RefusalBudget } from './refusal-recorder';

describe('RefusalBudget', () => {
  it('records up to the limit per address and minute, notes the first one over, skips the rest', () => {
    let now = 0;
    const budget = new RefusalBudget(2, () => now);
    const taken = () => [1, 2, 3, 4].map(() => budget.take('10.0.0.1'));
    assert.deepEqual(taken(), ['record', 'record', 'suppress', 'skip']);
    assert.equal(budget.take('10.0.0.2'), 'record', 'another address has its own budget');
    now += 59_999;
    assert.equal(budget.take('10.0.0.1'), 'skip');
    now += 1;
    assert.deepEqual(taken(), ['record', 'record', 'suppress', 'skip']);
  });
});
