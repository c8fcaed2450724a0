import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rabbitmq } from '../support/services';
import { assertAllEnded, assertNothingDeadLettered, expectAllLines } from './checks';
import {
  LOST_AFTER_MS,
  sleep,
  runScenario,
  storedCount,
  waitForLines,
  useFaultStack,
} from './scenario';

const COUNT = 100_000;
const BROKER_AWAY_MS = LOST_AFTER_MS + 2000;

describe('fault: RabbitMQ restarts during a 100 000-line operation', () => {
  const stack = useFaultStack();

  it('loses no line: the dispatcher keeps the output and delivers it after reconnecting', () =>
    runScenario('RabbitMQ restart mid-run', async (tally) => {
      const operation = await stack.createOperation('test.lines', 'broker-restart', {
        count: COUNT,
      });
      await waitForLines(stack, operation.id, 1000);

      const down = Date.now();
      await rabbitmq.stop();
      const atStop = await storedCount(stack, operation.id);
      // Away for longer than the lost limit: the outcome must not hang on how fast the broker
      // restarts, and a dispatcher the relay cannot hear is not a silent one.
      await sleep(Math.max(0, BROKER_AWAY_MS - (Date.now() - down)));
      await rabbitmq.start();
      tally.note(
        `broker away ${((Date.now() - down) / 1000).toFixed(1)} s; ${atStop} lines stored when it stopped`,
      );

      tally.add(await expectAllLines(stack, operation.id, COUNT, 180_000));
      for (const app of ['relay', 'dispatcher', 'api'] as const) {
        assert.ok(stack.app(app).running, `${app} still runs`);
      }
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
      const operations = await stack.query(`SELECT id FROM operations`);
      assert.equal(operations.length, 1, 'nothing was retried');
    }));
});
