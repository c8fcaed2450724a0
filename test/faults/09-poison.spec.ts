import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { queueDepths } from '../support/broker';
import { RawAmqp } from '../support/services';
import {
  assertAllEnded,
  assertStoredOnce,
  describeFacts,
  eventually,
  examine,
  stdoutOf,
  TERMINAL,
  waitForEmptyQueues,
} from './checks';
import { runScenario, sleep, useFaultStack } from './scenario';

interface Destination {
  name: string;
  exchange: string;
  routingKey: string;
  /** A message of the right kind for it, but for the schema. */
  kind: string;
}

const destinations: Destination[] = [
  { name: 'dispatch', exchange: 'aegir.dispatch', routingKey: 'default', kind: 'dispatch' },
  { name: 'events', exchange: 'aegir.events', routingKey: 'log', kind: 'log' },
  { name: 'claims', exchange: 'aegir.events', routingKey: 'claim', kind: 'claim' },
  { name: 'control', exchange: 'aegir.control', routingKey: '', kind: 'cancel' },
];

/** Three ways to be malformed, and what the dead-letter reason must say about each. */
const variants: { name: string; body: (kind: string) => Buffer; reason: RegExp }[] = [
  {
    name: 'not-json',
    body: () => Buffer.from('{"v": 1, "kind": '),
    reason: /not valid JSON/,
  },
  {
    name: 'wrong-version',
    body: (kind) => Buffer.from(JSON.stringify({ v: 99, kind, operationId: randomUUID() })),
    reason: /version 99/,
  },
  {
    name: 'schema-invalid',
    body: (kind) =>
      Buffer.from(JSON.stringify({ v: 1, kind, operationId: 'not-a-uuid', extra: true })),
    reason: /invalid \w+ message/,
  },
];

describe('fault: malformed messages on every queue', () => {
  let amqp: RawAmqp;

  const stack = useFaultStack();

  before(async () => {
    amqp = await RawAmqp.connect(stack.vhost.url);
  });

  after(async () => {
    await amqp?.close();
  });

  it('dead-letters each with its reason, once, and every consumer goes on working', () =>
    runScenario('poison messages', async (tally) => {
      // Queue names are right in list_queues; counts of quorum queues there can be seconds old.
      const names = Object.keys(await queueDepths(stack.vhost.name));
      const controlQueues = names.filter((name) => name.startsWith('aegir.control.'));
      assert.equal(controlQueues.length, 1, `one dispatcher control queue: ${names.join()}`);
      const workQueues = ['aegir.dispatch.default', 'aegir.events', 'aegir.claims'];

      const expected = new Map<string, RegExp>();
      for (const destination of destinations) {
        for (const variant of variants) {
          const messageId = `poison-${destination.name}-${variant.name}`;
          // what the relay sends a dispatcher is refused unsigned before its body is read
          const signed = destination.name === 'dispatch' || destination.name === 'control';
          expected.set(
            messageId,
            signed ? /^unsigned: no x-aegir-signature header$/ : variant.reason,
          );
          await amqp.publish(
            destination.exchange,
            destination.routingKey,
            variant.body(destination.kind),
            { messageId, contentType: 'application/json' },
          );
        }
      }

      const deadLettered = () => amqp.readyCount('aegir.dead-letter');
      await eventually(`${expected.size} messages dead-lettered`, 20_000, async () =>
        (await deadLettered()) >= expected.size ? true : undefined,
      );
      await sleep(2000); // a redelivery loop would show now
      assert.equal(await deadLettered(), expected.size, 'each dead-lettered once, no more');
      await waitForEmptyQueues(stack, workQueues);
      // the control queue is a classic queue, exclusive to the dispatcher: list_queues is exact
      assert.equal((await queueDepths(stack.vhost.name))[controlQueues[0]], 0);

      // What an admin sees: `aegir dlq:list --json`, one message a line, none removed.
      const listed = await stack.aegir(['dlq:list', '--json', '--limit', '100']);
      assert.equal(listed.code, 0, listed.stderr);
      const dead = listed.stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as { messageId: string; reason: string; queue: string });
      const seen = new Map<string, number>();
      for (const message of dead) {
        seen.set(message.messageId, (seen.get(message.messageId) ?? 0) + 1);
        assert.match(
          message.reason,
          expected.get(message.messageId) ?? /^$/,
          `${message.messageId}: ${message.reason}`,
        );
        assert.ok(message.queue, `${message.messageId} names the queue it came from`);
      }
      assert.deepEqual(
        [...seen].sort(),
        [...expected.keys()].sort().map((id) => [id, 1]),
        'each malformed message dead-lettered exactly once, with its reason',
      );
      assert.equal(await deadLettered(), expected.size, 'listing leaves them in place');

      for (const app of ['relay', 'dispatcher', 'api'] as const) {
        assert.ok(stack.app(app).running, `${app} still runs`);
      }
      const operation = await stack.createOperation('test.echo', 'after-poison', {
        message: 'still working',
      });
      await stack.waitForStatus(operation.id, TERMINAL, 30_000);
      const facts = await examine(stack, operation.id);
      tally.add(facts);
      assert.equal(facts.status, 'succeeded', describeFacts(facts));
      assert.deepEqual(stdoutOf(facts), ['still working']);
      assertStoredOnce(facts);
      await waitForEmptyQueues(stack, workQueues);
      assert.equal(await deadLettered(), expected.size, 'nothing else was dead-lettered');
      await assertAllEnded(stack);
    }));
});
