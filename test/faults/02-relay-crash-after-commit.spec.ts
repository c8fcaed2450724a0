import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllEnded, assertNothingDeadLettered, expectAllLines } from './checks';
import { runScenario, storedCount, useFaultStack } from './scenario';

const COUNT = 20_000;

describe('fault: the relay dies after committing a batch, before acking it', () => {
  const stack = useFaultStack({
    env: { relay: { AEGIR_FAILPOINT: 'relay-crash-after-commit' } },
  });

  it('stores the redelivered batch once', () =>
    runScenario('relay crash after commit', async (tally) => {
      const operation = await stack.createOperation('test.lines', 'relay-crash', { count: COUNT });

      const relay = stack.app('relay');
      assert.equal(await relay.waitForExit(30_000), null, 'the failpoint killed the relay');
      assert.equal(relay.signal, 'SIGKILL');
      const committed = await storedCount(stack, operation.id);
      assert.ok(committed > 0, 'the batch was committed before the crash');
      tally.note(`${committed} lines committed, not acked, at the crash`);
      await stack.startApp('relay', { AEGIR_FAILPOINT: undefined });

      tally.add(await expectAllLines(stack, operation.id, COUNT));
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
    }));
});
