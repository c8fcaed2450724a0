import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RawAmqp } from '../support/services';
import {
  assertAllEnded,
  assertStoredOnce,
  describeFacts,
  examine,
  readyCounts,
  stdoutOf,
  TERMINAL,
  waitForEmptyQueues,
} from './checks';
import { runScenario, sleep, useFaultStack } from './scenario';

describe('fault: the same dispatch and event messages delivered twice', () => {
  let amqp: RawAmqp;

  const stack = useFaultStack();

  before(async () => {
    amqp = await RawAmqp.connect(stack.vhost.url);
  });

  after(async () => {
    await amqp?.close();
  });

  /** How many times test.mark ran for the operation (each run appends its id to runs.log). */
  async function runsOf(id: string): Promise<number> {
    const log = await readFile(join(stack.stateDir, 'runs.log'), 'utf8').catch(() => '');
    return log.split('\n').filter((line) => line === id).length;
  }

  it('runs a twice-delivered dispatch once, and stores a twice-delivered line once', () =>
    runScenario('duplicate dispatch + events', async (tally) => {
      assert.equal(await stack.app('dispatcher').stop(), 0);
      const operation = await stack.createOperation('test.mark', 'duplicates');
      await stack.waitForStatus(operation.id, ['dispatched']);
      // The relay's signed message, taken off the queue and published twice, as it was.
      const taken = await amqp.channel.get('aegir.dispatch.default', { noAck: true });
      assert.ok(taken, 'the dispatch waits in the pool queue');
      const publishCopy = (messageId: string) =>
        amqp.publish('aegir.dispatch', 'default', taken.content, {
          messageId,
          contentType: 'application/json',
          type: 'dispatch',
          headers: taken.properties.headers,
        });
      await publishCopy(String(taken.properties.messageId));
      await publishCopy('a-second-copy');
      assert.deepEqual(await readyCounts(stack, ['aegir.dispatch.default']), {
        'aegir.dispatch.default': 2,
      });

      const dispatcher = await stack.startApp('dispatcher');
      await stack.waitForStatus(operation.id, TERMINAL, 30_000);
      await waitForEmptyQueues(stack, ['aegir.dispatch.default']);
      await sleep(1500); // a second run would have begun by now
      assert.equal(await runsOf(operation.id), 1, 'the task ran once');
      assert.match(
        dispatcher.text(),
        /dead-lettering message a-second-copy: dispatch refused: replayed: nonce \S+ was seen already/,
        'the dispatcher refuses the second copy as a replay',
      );

      // A copy that comes after the operation ended is refused too.
      await publishCopy('a-late-copy');
      await waitForEmptyQueues(stack, ['aegir.dispatch.default']);
      await sleep(1000);
      assert.equal(await runsOf(operation.id), 1, 'the task still ran only once');

      const facts = await examine(stack, operation.id);
      assert.equal(facts.status, 'succeeded', describeFacts(facts));
      assert.deepEqual(stdoutOf(facts), [`marked ${operation.id}`]);
      const runningLogs = dispatcher
        .text()
        .split('\n')
        .filter((line) => line.includes(`operation ${operation.id} (`) && line.includes('running'));
      assert.equal(runningLogs.length, 1, runningLogs.join('\n'));

      // The same stored line, and the final status, delivered twice more.
      const holder = stack.envOf('dispatcher').DISPATCHER_ID!;
      const poolUser = decodeURIComponent(
        new URL(await stack.brokerUrl('dispatcher-default')).username,
      );
      const first = facts.lines[0];
      const copy = {
        v: 1,
        kind: 'log',
        operationId: operation.id,
        lines: [
          {
            seq: first.seq,
            taskId: facts.tasks[0].id ?? null,
            stream: first.stream,
            text: 'a second copy that must not replace the first',
            at: new Date().toISOString(),
          },
        ],
      };
      const late = {
        v: 1,
        kind: 'status',
        operationId: operation.id,
        taskId: null,
        status: 'running',
        at: new Date().toISOString(),
        dispatcherId: holder,
      };
      // as the dispatcher that ran it would resend them: its pool's user, its own app-id
      const asDispatcher = await RawAmqp.connect(await stack.brokerUrl('dispatcher-default'));
      try {
        const from = { contentType: 'application/json', userId: poolUser, appId: holder };
        for (let i = 0; i < 2; i++) {
          await asDispatcher.publish('aegir.events', 'log', copy, from);
          await asDispatcher.publish('aegir.events', 'status', late, from);
        }
      } finally {
        await asDispatcher.close();
      }
      await waitForEmptyQueues(stack, ['aegir.events']);

      const again = await examine(stack, operation.id);
      tally.add(again);
      assert.equal(again.status, 'succeeded', 'a late status never moves it back');
      assert.deepEqual(again.lines, facts.lines, 'one row per seq, the first one kept');
      const perSeq = await stack.query(
        `SELECT seq, count(*)::int AS n FROM log_lines WHERE operation_id = $1
          GROUP BY seq HAVING count(*) > 1`,
        [operation.id],
      );
      assert.deepEqual(perSeq, []);
      assertStoredOnce(again);
      // the two copies of the dispatch, refused as replays, and nothing else
      const dead = await amqp.peek('aegir.dead-letter');
      assert.deepEqual(dead.map((message) => String(message.properties.messageId)).sort(), [
        'a-late-copy',
        'a-second-copy',
      ]);
      for (const message of dead) {
        assert.match(String(message.properties.headers?.['x-aegir-reason']), /replayed: nonce/);
      }
      await assertAllEnded(stack);
    }));
});
