import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertAllEnded,
  assertNothingDeadLettered,
  assertStoredOnce,
  describeFacts,
  examine,
  processesOf,
  stdoutOf,
  TERMINAL,
} from './checks';
import { runScenario, useFaultStack } from './scenario';

describe('fault: a task outlives its timeout', () => {
  const stack = useFaultStack();

  it('ends timed_out, naming the task, and the rest of it never runs', () =>
    runScenario('timeout', async (tally) => {
      const operation = await stack.createOperation('test.timeout', 'timeout');
      await stack.waitForStatus(operation.id, TERMINAL, 20_000);
      const facts = await examine(stack, operation.id);
      tally.add(facts);
      assert.equal(facts.status, 'timed_out', describeFacts(facts));
      assert.match(facts.reason ?? '', /task "slow"/);
      assert.deepEqual(
        facts.tasks.map((task) => [task.name, task.status]),
        [['slow', 'timed_out']],
      );
      assert.deepEqual(stdoutOf(facts), ['before-timeout']);
      assert.ok(!facts.lines.some((line) => line.text === 'after'), '"after" is never printed');
      assert.deepEqual(await processesOf(operation.id), [], 'no process of it is left');
      assertStoredOnce(facts);
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
    }));
});
