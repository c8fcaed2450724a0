import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import { DEAD_LETTER_QUEUE_HEADER, DEAD_LETTER_REASON_HEADER, Queues } from '@app/contracts';
import { RawAmqp } from '../support/services';
import { Stack } from '../support/stack';
import { amqpCases, type AmqpFixtures } from './cases/amqp-cases';
import { shortly, stateDigest } from './support';

/** How long a hostile message may take to reach the dead-letter queue. */
const DEAD_LETTER_WITHIN_MS = 5_000;

/** Every dead letter of the vhost, by message id, as it arrives. */
class DeadLetters {
  private readonly seen = new Map<string, ConsumeMessage>();

  static async watch(amqp: RawAmqp): Promise<DeadLetters> {
    const letters = new DeadLetters();
    await amqp.channel.consume(Queues.deadLetter, (message) => {
      if (!message) return;
      letters.seen.set(String(message.properties.messageId), message);
      amqp.channel.ack(message);
    });
    return letters;
  }

  async waitFor(messageId: string): Promise<ConsumeMessage | undefined> {
    const started = Date.now();
    while (!this.seen.has(messageId) && Date.now() - started < DEAD_LETTER_WITHIN_MS) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.seen.get(messageId);
  }
}

/**
 * Every hostile message of the table published on the real broker (as the vhost's admin,
 * not as an app), with the real relay and dispatcher consuming: each is dead-lettered with
 * its reason in `x-aegir-reason` and the queue it came from, and no row of any operation,
 * task or log changes.
 */
describe('hostile input: AMQP messages', () => {
  let stack: Stack;
  let amqp: RawAmqp;
  let deadLetters: DeadLetters;
  let fixtures: AmqpFixtures;

  const onlyTask = async (operationId: string): Promise<string> => {
    const [task] = await stack.query<{ id: string }>(
      `SELECT id FROM tasks WHERE operation_id = $1`,
      [operationId],
    );
    return task.id;
  };

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_hostile_amqp' });
    const finished = await stack.createOperation('test.echo', 'fixture-finished', {
      message: 'done',
    });
    const ended = await stack.waitForEnd(finished.id);
    assert.equal(ended.status, 'succeeded');
    const running = await stack.createOperation('test.stubborn', 'fixture-running');
    await stack.waitForStatus(running.id, ['running']);
    // its task has printed and now only waits: nothing of it changes until it is cancelled
    for (
      let tries = 0;
      !(await stack.lines(running.id)).some((l) => l.line === 'started');
      tries++
    ) {
      assert.ok(tries < 200, 'test.stubborn printed "started"');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    fixtures = {
      finished: {
        id: finished.id,
        taskId: await onlyTask(finished.id),
        lines: (await stack.lines(finished.id)).length,
      },
      running: { id: running.id, taskId: await onlyTask(running.id) },
      dispatcherId: String(stack.envOf('dispatcher').DISPATCHER_ID),
    };
    amqp = await RawAmqp.connect(stack.vhost.url);
    deadLetters = await DeadLetters.watch(amqp);
  });

  after(async () => {
    if (fixtures) await stack.request('POST', `/operations/${fixtures.running.id}/cancel`, {});
    await amqp?.close();
    await stack?.stop();
  });

  for (const testCase of amqpCases) {
    it(`${testCase.name}: dead-lettered`, async () => {
      const body = typeof testCase.body === 'function' ? testCase.body(fixtures) : testCase.body;
      const messageId = `hostile-${randomUUID()}`;
      const before = await stateDigest(stack);
      await amqp.publish(testCase.exchange, testCase.routingKey, body, {
        contentType: 'application/json',
        messageId,
        ...testCase.properties,
      });
      const dead = await deadLetters.waitFor(messageId);
      const shown = `${testCase.exchange} ${JSON.stringify(testCase.routingKey)} ${shortly(
        Buffer.isBuffer(body) ? body.toString('latin1') : JSON.stringify(body),
        200,
      )}`;
      assert.ok(dead, `dead-lettered within ${DEAD_LETTER_WITHIN_MS} ms: ${shown}`);
      const headers = dead.properties.headers ?? {};
      assert.match(String(headers[DEAD_LETTER_REASON_HEADER]), testCase.expect.reason, shown);
      assert.match(String(headers[DEAD_LETTER_QUEUE_HEADER]), testCase.expect.queue, shown);
      assert.ok(
        dead.content.equals(
          Buffer.isBuffer(body)
            ? body
            : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
        ),
        'the body is kept as it came',
      );
      assert.equal(await stateDigest(stack), before, `no row changed: ${shown}`);
    });
  }

  it('every consumer still works: a new operation runs to the end', async () => {
    for (const app of ['relay', 'dispatcher', 'api'] as const) {
      assert.ok(stack.app(app).running, `${app} still runs`);
    }
    const operation = await stack.createOperation('test.echo', 'after-hostile', {
      message: 'still here',
    });
    const ended = await stack.waitForEnd(operation.id, 30_000);
    assert.equal(ended.status, 'succeeded');
    assert.deepEqual(
      (await stack.lines(operation.id)).filter((l) => l.stream === 'stdout').map((l) => l.line),
      ['still here'],
    );
    const [{ status }] = await stack.query<{ status: string }>(
      `SELECT status FROM operations WHERE id = $1`,
      [fixtures.running.id],
    );
    assert.equal(status, 'running', 'no forged message moved the running operation');
  });
});
