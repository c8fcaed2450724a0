import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { connect, type AmqpConnectionManager } from 'amqp-connection-manager';
import type { ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import * as amqplib from 'amqplib';
import {
  brokerTopology,
  DEAD_LETTER_QUEUE_HEADER,
  DEAD_LETTER_REASON_HEADER,
  decodeEvent,
  Exchanges,
  Queues,
  type EventMessage,
  type LogMessage,
} from '@app/contracts';
import { sleep, waitUntil } from '../../../test/support/wait';
import { createTestVhost, type TestVhost } from '../../../test/support/broker';
import { ConfirmedPublisher } from './confirmed-publisher';
import { QueueConsumer, type Delivery } from './queue-consumer';
import { declareTopology } from './topology';

const run = promisify(execFile);

/** A promise the test resolves when it chooses (or afterEach does, should the test fail). */
const gates: (() => void)[] = [];
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  gates.push(open);
  return { opened, open };
}

const operationId = randomUUID();

function logEvent(seq: number, text = `line ${seq}`, operation = operationId): LogMessage {
  return {
    v: 1,
    kind: 'log',
    operationId: operation,
    lines: [{ seq, taskId: null, stream: 'stdout', text, at: new Date().toISOString() }],
  };
}

const textOf = (delivery: Delivery<EventMessage>): string =>
  (delivery.message as LogMessage).lines[0].text;
const seqOf = (delivery: Delivery<EventMessage>): number =>
  (delivery.message as LogMessage).lines[0].seq;

describe('QueueConsumer', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  let manager: AmqpConnectionManager;
  let deadLetters: ConfirmedPublisher;
  let consumer: QueueConsumer<EventMessage> | undefined;

  before(async () => {
    Logger.overrideLogger(['error']);
    vhost = await createTestVhost('aegir_test_consumer');
    connection = await amqplib.connect(vhost.url);
    channel = await connection.createConfirmChannel();
    await declareTopology(channel, brokerTopology(['t']));
    manager = connect(vhost.url);
    deadLetters = new ConfirmedPublisher(
      (setup) => manager.createChannel({ confirm: true, json: false, setup }),
      5_000,
    );
  });

  afterEach(async () => {
    for (const open of gates.splice(0)) open();
    await consumer?.stop();
    consumer = undefined;
    await channel.purgeQueue(Queues.events);
    await channel.purgeQueue(Queues.deadLetter);
  });

  after(async () => {
    await deadLetters?.close();
    await manager?.close();
    await connection?.close();
    await vhost?.delete();
  });

  function newConsumer(prefetch = 50): QueueConsumer<EventMessage> {
    consumer = new QueueConsumer<EventMessage>(
      (setup) => manager.createChannel({ confirm: true, json: false, setup }),
      deadLetters,
      { queue: Queues.events, prefetch, decode: decodeEvent },
    );
    return consumer;
  }

  /** Publishes to the events exchange and waits for the broker's confirms. */
  async function publish(...messages: { body: Buffer | object; id: string }[]): Promise<void> {
    for (const { body, id } of messages) {
      const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      channel.publish(Exchanges.events, 'log', content, { messageId: id, persistent: true });
    }
    await channel.waitForConfirms();
  }

  /**
   * Messages delivered to this vhost's consumers and not yet acknowledged, as their
   * channels count them right now (a quorum queue's own counters lag by seconds).
   */
  async function unacked(): Promise<number> {
    const { stdout } = await run('rabbitmqctl', [
      '-q',
      'list_channels',
      '--no-table-headers',
      'vhost',
      'messages_unacknowledged',
    ]);
    return stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([name]) => name === vhost.name)
      .reduce((sum, [, count]) => sum + Number(count), 0);
  }

  /** Nothing is left in the queue to be delivered again, once closed channels have returned theirs. */
  async function assertDrained(queue: string): Promise<void> {
    const until = Date.now() + 300;
    while (Date.now() < until) {
      const message = await channel.get(queue, { noAck: true });
      if (message) {
        assert.fail(`message ${String(message.properties.messageId)} was left in ${queue}`);
      }
      await sleep(50);
    }
  }

  /** Takes `count` messages off the dead-letter queue, waiting for them; then it must be empty. */
  async function takeDeadLetters(count: number): Promise<GetMessage[]> {
    const taken: GetMessage[] = [];
    await waitUntil(`${count} messages are dead-lettered`, async () => {
      const message = await channel.get(Queues.deadLetter, { noAck: true });
      if (message) taken.push(message);
      return taken.length >= count;
    });
    await sleep(50);
    assert.equal(await channel.get(Queues.deadLetter, { noAck: true }), false, 'no more');
    return taken;
  }

  it('dead-letters undecodable messages with their reason and handles the next one', async () => {
    const handled: Delivery<EventMessage>[] = [];
    await newConsumer().start(async (delivery) => {
      handled.push(delivery);
    });
    await publish(
      { body: Buffer.from('{nope'), id: 'not-json' },
      { body: { v: 2, kind: 'log' }, id: 'wrong-version' },
      { body: { v: 1, kind: 'log', operationId, lines: [] }, id: 'no-lines' },
      { body: logEvent(1, 'valid'), id: 'valid' },
    );

    await waitUntil('the valid message is handled', () => handled.length === 1);
    const dead = new Map((await takeDeadLetters(3)).map((m) => [m.properties.messageId, m]));
    assert.equal(textOf(handled[0]), 'valid');
    const reasons = Object.fromEntries(
      [...dead].map(([id, m]) => [id, m.properties.headers?.[DEAD_LETTER_REASON_HEADER]]),
    );
    assert.deepEqual(reasons, {
      'not-json': 'body is not valid JSON',
      'wrong-version': 'unsupported message version 2',
      'no-lines': 'invalid log message: /lines must NOT have fewer than 1 items',
    });
    for (const message of dead.values()) {
      assert.equal(message.properties.headers?.[DEAD_LETTER_QUEUE_HEADER], Queues.events);
      assert.equal(message.fields.routingKey, 'log');
    }
    assert.equal(dead.get('not-json')?.content.toString(), '{nope', 'the body is kept as sent');

    await consumer!.stop();
    await assertDrained(Queues.events);
    assert.equal(handled.length, 1, 'nothing was redelivered');
    assert.equal(handled[0].raw.fields.redelivered, false);
  });

  it('dead-letters the message of a handler that throws and keeps consuming', async () => {
    const handled: string[] = [];
    await newConsumer().start(async (delivery) => {
      if (textOf(delivery) === 'explode') throw new Error('boom');
      handled.push(textOf(delivery));
    });
    await publish(
      { body: logEvent(1, 'before'), id: 'before' },
      { body: logEvent(2, 'explode'), id: 'explode' },
      { body: logEvent(3, 'after'), id: 'after' },
    );

    await waitUntil('both good messages are handled', () => handled.length === 2);
    const [dead] = await takeDeadLetters(1);
    assert.deepEqual(handled.sort(), ['after', 'before']);
    assert.equal(dead.properties.messageId, 'explode');
    assert.equal(dead.properties.headers?.[DEAD_LETTER_REASON_HEADER], 'handler failed: boom');
    assert.equal(dead.properties.headers?.[DEAD_LETTER_QUEUE_HEADER], Queues.events);

    await consumer!.stop();
    await assertDrained(Queues.events);
    assert.deepEqual(handled.sort(), ['after', 'before'], 'nothing was redelivered');
  });

  it('keeps deliveries unacked while their handlers wait, and acks them when they return', async () => {
    const held = gate();
    const seen: number[] = [];
    await newConsumer().start(async (delivery) => {
      seen.push(seqOf(delivery));
      await held.opened;
    });
    await publish(...[1, 2, 3, 4, 5].map((seq) => ({ body: logEvent(seq), id: `held-${seq}` })));

    await waitUntil('all five are in hand', () => seen.length === 5);
    await sleep(100);
    assert.equal(await unacked(), 5);
    assert.equal(await channel.get(Queues.events), false, 'no other consumer can take them');

    const horizon = consumer!.horizon();
    await sleep(50);
    assert.equal(
      consumer!.horizon()?.seenUntil,
      horizon?.seenUntil,
      'no horizon past a delivery in hand',
    );

    held.open();
    await waitUntil('they are acked', async () => (await unacked()) === 0);
    assert.ok((consumer!.horizon()?.seenUntil ?? 0) > (horizon?.seenUntil ?? 0), 'seen up to now');
    await consumer!.stop();
    await assertDrained(Queues.events);
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      [1, 2, 3, 4, 5],
    );
  });

  {
    it('stop() waits for the handler in flight and acks its message', async () => {
      const held = gate();
      let started = false;
      let finished = false;
      const handler = async () => {
        started = true;
        await held.opened;
        finished = true;
      };
      const subject = newConsumer();
      await subject.start(handler);
      await publish({ body: logEvent(1), id: 'in-flight' });
      await waitUntil('the handler is running', () => started);

      let stopped = false;
      const stopping = subject.stop().then(() => (stopped = true));
      await sleep(200);
      assert.equal(stopped, false, 'stop() returned while a handler was running');

      held.open();
      await stopping;
      assert.equal(finished, true);
      await assertDrained(Queues.events);
    });
  }
});
