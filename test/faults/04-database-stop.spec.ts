import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postgres } from '../support/services';
import { assertAllEnded, assertNothingDeadLettered, expectAllLines } from './checks';
import { runScenario, sleep, waitForLines, useFaultStack } from './scenario';

/** test.drip: 4000 lines, one every 10 ms: output flows before, during and after the outage. */
const COUNT = 4000;
const OUTAGE_MS = 30_000;

describe('fault: PostgreSQL stops for 30 s while events flow', () => {
  const stack = useFaultStack();

  it('holds the events and writes every line once PostgreSQL is back', () =>
    runScenario('PostgreSQL down 30 s', async (tally) => {
      const operation = await stack.createOperation('test.drip', 'db-stop', {
        count: COUNT,
        interval: 10,
      });
      const before = await waitForLines(stack, operation.id, 100);

      await postgres.stop();
      try {
        await assert.rejects(stack.query('SELECT 1'), 'PostgreSQL is really down');
        await sleep(OUTAGE_MS);
      } finally {
        await postgres.start();
      }
      tally.note(`${before}+ lines stored before the outage`);

      tally.add(await expectAllLines(stack, operation.id, COUNT));
      assert.match(
        stack.app('relay').text(),
        /not written \(attempt 1\), holding the batch/,
        'the relay held its batch while PostgreSQL was away',
      );
      for (const app of ['relay', 'dispatcher', 'api'] as const) {
        assert.ok(stack.app(app).running, `${app} still runs`);
      }
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
      const operations = await stack.query(`SELECT id FROM operations`);
      assert.equal(operations.length, 1, 'nothing was retried');
    }));
});
