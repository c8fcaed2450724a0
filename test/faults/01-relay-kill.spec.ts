import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllEnded, assertNothingDeadLettered, expectAllLines } from './checks';
import {
  LOST_AFTER_MS,
  runScenario,
  sleep,
  storedCount,
  waitForLines,
  useFaultStack,
} from './scenario';

const COUNT = 100_000;
const RELAY_AWAY_MS = LOST_AFTER_MS + 1000;

describe('fault: kill -9 the relay during a 100 000-line operation', () => {
  const stack = useFaultStack();

  it('stores every line once and in order once a new relay is started', () =>
    runScenario('kill -9 relay mid-run', async (tally) => {
      const operation = await stack.createOperation('test.lines', 'relay-kill', { count: COUNT });
      await waitForLines(stack, operation.id, 1000);

      const relay = stack.app('relay');
      relay.kill('SIGKILL');
      assert.equal(await relay.waitForExit(), null);
      assert.equal(relay.signal, 'SIGKILL');
      const atKill = await storedCount(stack, operation.id);
      // The dispatcher goes on; its events (heartbeats too) wait in the queue. Away for longer
      // than the lost limit, so that the outcome does not hang on how fast the relay restarts.
      await sleep(RELAY_AWAY_MS);
      await stack.startApp('relay');
      tally.note(
        `${atKill} lines stored when the relay was killed; relay away ${RELAY_AWAY_MS / 1000} s`,
      );

      tally.add(await expectAllLines(stack, operation.id, COUNT));
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
      const operations = await stack.query(`SELECT id FROM operations`);
      assert.equal(operations.length, 1, 'nothing was retried');
    }));
});
