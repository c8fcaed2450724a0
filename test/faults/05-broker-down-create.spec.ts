import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rabbitmq } from '../support/services';
import {
  assertAllEnded,
  assertNothingDeadLettered,
  assertStoredOnce,
  describeFacts,
  examine,
  stdoutOf,
  TERMINAL,
} from './checks';
import { runScenario, sleep, useFaultStack } from './scenario';

describe('fault: operations are created while RabbitMQ is down', () => {
  const stack = useFaultStack();

  it('accepts them (the api needs only PostgreSQL) and runs them once the broker is back', () =>
    runScenario('create while RabbitMQ down', async (tally) => {
      const created: { id: string; message: string }[] = [];
      await rabbitmq.stop();
      try {
        for (let i = 1; i <= 3; i++) {
          const message = `created while the broker was down (${i})`;
          const response = await stack.request('POST', '/operations', {
            type: 'test.echo',
            target: `broker-down-${i}`,
            params: { message },
          });
          assert.equal(response.status, 201, JSON.stringify(response.body));
          assert.equal(response.body.status, 'queued');
          created.push({ id: response.body.id, message });
        }
        await sleep(2000); // the relay tries, and fails, to publish them
        const published = await stack.query(
          `SELECT count(*)::int AS n FROM outbox WHERE published_at IS NOT NULL`,
        );
        assert.equal(published[0].n, 0, 'nothing was published while the broker was down');
      } finally {
        await rabbitmq.start();
      }

      for (const { id, message } of created) {
        await stack.waitForStatus(id, TERMINAL, 90_000);
        const facts = await examine(stack, id);
        tally.add(facts);
        assert.equal(facts.status, 'succeeded', describeFacts(facts));
        assertStoredOnce(facts);
        assert.deepEqual(stdoutOf(facts), [message]);
      }
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
    }));
});
