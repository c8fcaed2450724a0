import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  assertAllEnded,
  assertLines,
  assertNothingDeadLettered,
  assertStoredOnce,
  describeFacts,
  eventually,
  examine,
  numbered,
  processesOf,
  stdoutOf,
  TERMINAL,
  type OperationFacts,
} from './checks';
import {
  LOST_AFTER_MS,
  LOST_CHECK_MS,
  runScenario,
  sleep,
  waitForLines,
  useFaultStack,
} from './scenario';

/** How late `lost` may come after the dispatcher's death: the limit, one check, and slack. */
const LOST_WITHIN_MS = LOST_AFTER_MS + LOST_CHECK_MS + 2000;
const LINES = 200_000;

describe('fault: kill -9 the dispatcher mid-operation', () => {
  let dispatcherId: string;

  const stack = useFaultStack();

  before(async () => {
    dispatcherId = stack.envOf('dispatcher').DISPATCHER_ID!;
  });

  /** Kills the dispatcher; resolves with the operation once it is lost, and how long that took. */
  async function killDispatcherAndWaitForLost(id: string): Promise<{ row: any; ms: number }> {
    const dispatcher = stack.app('dispatcher');
    const killed = Date.now();
    dispatcher.kill('SIGKILL');
    await dispatcher.waitForExit();
    const row = await stack.waitForStatus(id, TERMINAL, LOST_WITHIN_MS + 10_000);
    return { row, ms: Date.now() - killed };
  }

  function assertLost(facts: OperationFacts, ms: number): void {
    assert.equal(facts.status, 'lost', describeFacts(facts));
    assert.ok(ms <= LOST_WITHIN_MS, `lost after ${ms} ms, limit ${LOST_WITHIN_MS} ms`);
    assert.ok(ms >= LOST_AFTER_MS - 1000, `lost after only ${ms} ms: too early`);
    assert.ok(
      facts.reason?.includes(dispatcherId),
      `reason names ${dispatcherId}: ${facts.reason}`,
    );
    assert.match(facts.reason ?? '', /silent/);
    for (const task of facts.tasks) {
      assert.ok(TERMINAL.includes(task.status as never), `task ${task.name} left ${task.status}`);
    }
  }

  it('marks the operation lost within the limit; a retry by request runs it again', () =>
    runScenario('kill -9 dispatcher, retry', async (tally) => {
      const operation = await stack.createOperation('test.sleep', 'lost-sleep', { seconds: 5 });
      await stack.waitForStatus(operation.id, ['running']);
      await sleep(1000);
      const { ms } = await killDispatcherAndWaitForLost(operation.id);
      const lost = await examine(stack, operation.id);
      tally.add(lost);
      tally.note(`lost ${(ms / 1000).toFixed(1)} s after kill -9`);
      assertLost(lost, ms);
      assertStoredOnce(lost);

      await sleep(2 * LOST_CHECK_MS);
      const retries = await stack.query(`SELECT id FROM operations WHERE retry_of = $1`, [
        operation.id,
      ]);
      assert.deepEqual(retries, [], 'test.sleep has no retry policy: nothing is re-run on its own');

      const dispatcher = await stack.startApp('dispatcher');
      // A dispatcher that starts reports what an earlier run of it left unfinished.
      await dispatcher.waitFor(`operation ${operation.id}: `);
      assert.match(dispatcher.text(), new RegExp(`operation ${operation.id}: [^"]*reported lost`));
      const stillLost = await examine(stack, operation.id);
      assert.equal(stillLost.status, 'lost');

      const retry = await stack.request('POST', `/operations/${operation.id}/retry`);
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      assert.equal(retry.body.attempt, 2);
      assert.equal(retry.body.retryOf, operation.id);
      await stack.waitForStatus(retry.body.id, TERMINAL, 30_000);
      const retried = await examine(stack, retry.body.id);
      tally.add(retried);
      assert.equal(retried.status, 'succeeded', describeFacts(retried));
      assertStoredOnce(retried);
      await assertNothingDeadLettered(stack);
    }));

  it('retries a lost test.lines (retry: attempts 1) on its own, once, and the retry succeeds', () =>
    runScenario('kill -9 dispatcher, auto-retry', async (tally) => {
      const operation = await stack.createOperation('test.lines', 'lost-lines', { count: LINES });
      await waitForLines(stack, operation.id, 1000);
      const { ms } = await killDispatcherAndWaitForLost(operation.id);
      const lost = await examine(stack, operation.id);
      tally.add(lost);
      tally.note(`lost ${(ms / 1000).toFixed(1)} s after kill -9 with ${lost.stored} lines stored`);
      assertLost(lost, ms);
      assertStoredOnce(lost); // what arrived is a gap-free prefix
      assert.ok(lost.stored < LINES, 'it was killed mid-run');

      await stack.startApp('dispatcher');
      const retryId = await eventually('an automatic retry', 10_000, async () => {
        const [row] = await stack.query(`SELECT id FROM operations WHERE retry_of = $1`, [
          operation.id,
        ]);
        return row?.id as string | undefined;
      });
      await stack.waitForStatus(retryId, TERMINAL, 120_000);
      const retried = await examine(stack, retryId);
      tally.add(retried);
      assert.equal(retried.status, 'succeeded', describeFacts(retried));
      assert.equal(retried.attempt, 2);
      assert.equal(retried.retryOf, operation.id);
      assertStoredOnce(retried);
      assertLines(stdoutOf(retried), numbered(LINES));

      await sleep(2 * LOST_CHECK_MS);
      const retries = await stack.query(
        `SELECT retry_of, count(*)::int AS n FROM operations WHERE retry_of IS NOT NULL
          GROUP BY retry_of ORDER BY retry_of`,
      );
      const byOriginal = Object.fromEntries(retries.map((row) => [row.retry_of, row.n]));
      const [sleepOperation] = await stack.query(
        `SELECT id FROM operations WHERE type = 'test.sleep' AND retry_of IS NULL`,
      );
      assert.deepEqual(
        byOriginal,
        { [operation.id]: 1, ...(sleepOperation && { [sleepOperation.id]: 1 }) },
        'one automatic retry of the lost test.lines, the one asked-for retry of test.sleep, no other',
      );
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
    }));

  it('leaves no process of the lost operation running once a new dispatcher has started', () =>
    runScenario('kill -9 dispatcher, orphans', async (tally) => {
      // test.stubborn ignores TERM and forks: only a stop of its whole group ends it.
      const operation = await stack.createOperation('test.stubborn', 'lost-orphans');
      await eventually('its processes run', 20_000, async () =>
        (await processesOf(operation.id)).length >= 3 ? true : undefined,
      );
      const { ms } = await killDispatcherAndWaitForLost(operation.id);
      const lost = await examine(stack, operation.id);
      tally.add(lost);
      assertLost(lost, ms);

      const dispatcher = await stack.startApp('dispatcher');
      await dispatcher.waitFor(`operation ${operation.id}: `); // reported as no longer run here
      const left = await eventually('no process of it is left', 5000, async () =>
        (await processesOf(operation.id)).length === 0 ? [] : undefined,
      ).catch(() => processesOf(operation.id));
      tally.note(`${left.length} process(es) of the lost operation still running`);
      assert.deepEqual(left, [], 'what the killed dispatcher started is stopped, not left running');
    }));
});
