import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertAllEnded,
  assertNothingDeadLettered,
  assertStoredOnce,
  describeFacts,
  eventually,
  examine,
  processesOf,
  readyCounts,
  stdoutOf,
  TERMINAL,
  waitForEmptyQueues,
} from './checks';
import { KILL_GRACE_MS, runScenario, sleep, useFaultStack } from './scenario';

describe('fault: cancel', () => {
  const stack = useFaultStack();

  it('cancels a queued operation whose dispatch message is already on the queue: no task ever starts', () =>
    runScenario('cancel queued', async (tally) => {
      assert.equal(await stack.app('dispatcher').stop(), 0);
      const operation = await stack.createOperation('test.echo', 'cancel-queued', {
        message: 'this must never be printed',
      });
      await stack.waitForStatus(operation.id, ['dispatched']);
      assert.deepEqual(await readyCounts(stack, ['aegir.dispatch.default']), {
        'aegir.dispatch.default': 1,
      });

      const cancel = await stack.request('POST', `/operations/${operation.id}/cancel`);
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      assert.equal(cancel.body.status, 'cancelled');

      const dispatcher = await stack.startApp('dispatcher');
      await waitForEmptyQueues(stack, ['aegir.dispatch.default']);
      await eventually('the dispatcher drops it', 10_000, async () =>
        new RegExp(`operation ${operation.id}: (not run|[^"]*dropped)`).test(dispatcher.text()),
      );
      await sleep(1000);

      const facts = await examine(stack, operation.id);
      tally.add(facts);
      assert.equal(facts.status, 'cancelled', describeFacts(facts));
      assert.ok(facts.reason, 'the reason is recorded');
      assert.equal(facts.startedAt, null, 'it never started');
      assert.equal(facts.stored, 0, 'no line was emitted');
      assert.deepEqual(
        facts.tasks.map((task) => task.status),
        ['cancelled'],
      );
      assert.equal(
        (
          await stack.query(`SELECT started_at FROM tasks WHERE operation_id = $1`, [operation.id])
        )[0].started_at,
        null,
      );
    }));

  it('cancels a running task that ignores TERM and forks: KILL after the grace, no child survives', () =>
    runScenario('cancel running (stubborn)', async (tally) => {
      const operation = await stack.createOperation('test.stubborn', 'cancel-running');
      await eventually('"started" is stored', 20_000, async () => {
        const rows = await stack.query(
          `SELECT 1 FROM log_lines WHERE operation_id = $1 AND line = 'started'`,
          [operation.id],
        );
        return rows.length > 0;
      });
      const children = await eventually('its processes run', 5000, async () => {
        const found = await processesOf(operation.id);
        return found.filter((process) => /^\d+ sleep 1000$/.test(process)).length === 2 && found;
      });
      assert.ok(children.length >= 3, children.join('\n')); // the shell and two sleeps

      const asked = Date.now();
      const cancel = await stack.request('POST', `/operations/${operation.id}/cancel`);
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      await stack.waitForStatus(operation.id, TERMINAL, KILL_GRACE_MS + 10_000);
      const ms = Date.now() - asked;
      tally.note(`cancelled ${(ms / 1000).toFixed(1)} s after the request`);
      assert.ok(ms <= KILL_GRACE_MS + 4000, `cancelled after ${ms} ms`);

      const survivors = await eventually('no process of it is left', 2000, async () => {
        const left = await processesOf(operation.id);
        return left.length === 0 ? [] : undefined;
      }).catch(async () => processesOf(operation.id));
      assert.deepEqual(survivors, [], 'no process of the operation survives');

      const facts = await examine(stack, operation.id);
      tally.add(facts);
      assert.equal(facts.status, 'cancelled', describeFacts(facts));
      assert.ok(facts.reason, 'the reason is recorded');
      assert.equal(facts.tasks[0].status, 'cancelled');
      assert.equal(stdoutOf(facts)[0], 'started');
      assertStoredOnce(facts);

      const again = await stack.request('POST', `/operations/${operation.id}/cancel`);
      assert.equal(again.status, 409, 'a cancelled operation cannot be cancelled again');
    }));

  it('answers 409 to cancelling an operation that already ended', () =>
    runScenario('cancel finished → 409', async (tally) => {
      const operation = await stack.createOperation('test.echo', 'cancel-finished', {
        message: 'done',
      });
      await stack.waitForStatus(operation.id, TERMINAL);
      const cancel = await stack.request('POST', `/operations/${operation.id}/cancel`);
      assert.equal(cancel.status, 409, JSON.stringify(cancel.body));
      const facts = await examine(stack, operation.id);
      tally.add(facts);
      assert.equal(facts.status, 'succeeded');
      assertStoredOnce(facts);
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
    }));
});
