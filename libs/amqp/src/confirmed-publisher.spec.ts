import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ChannelModel } from 'amqplib';
import * as amqplib from 'amqplib';
import { createTestVhost, type TestVhost } from '../../../test/support/broker';
import { ConfirmedPublisher, PublishError } from './confirmed-publisher';

const EXCHANGE = 'test.publish';
const QUEUE = 'test.publish.bound';

/** A publisher on its own managed connection, the way AmqpChannels builds one. */
function publisherOn(manager: AmqpConnectionManager, timeoutMs: number): ConfirmedPublisher {
  return new ConfirmedPublisher(
    (setup) => manager.createChannel({ confirm: true, json: false, setup }),
    timeoutMs,
  );
}

describe('ConfirmedPublisher', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;
  let inspect: Channel;
  let manager: AmqpConnectionManager;
  let publisher: ConfirmedPublisher;

  before(async () => {
    vhost = await createTestVhost('aegir_test_publisher');
    connection = await amqplib.connect(vhost.url);
    inspect = await connection.createChannel();
    await inspect.assertExchange(EXCHANGE, 'direct', { durable: true });
    await inspect.assertQueue(QUEUE, { durable: true });
    await inspect.bindQueue(QUEUE, EXCHANGE, 'bound');
    manager = connect(vhost.url);
    publisher = publisherOn(manager, 5_000);
  });

  after(async () => {
    await publisher?.close();
    await manager?.close();
    await connection?.close();
    await vhost?.delete();
  });

  it('resolves once confirmed, leaving a persistent message with the given properties', async () => {
    const body = Buffer.from(JSON.stringify({ hello: 'world' }));
    await publisher.publish(EXCHANGE, 'bound', body, {
      messageId: 'message-1',
      type: 'dispatch',
      headers: { 'x-test': 'yes' },
    });

    const message = await inspect.get(QUEUE, { noAck: true });
    assert.ok(message, 'the message is in the bound queue');
    assert.deepEqual(JSON.parse(message.content.toString()), { hello: 'world' });
    assert.equal(message.properties.deliveryMode, 2, 'persistent');
    assert.equal(message.properties.messageId, 'message-1');
    assert.equal(message.properties.type, 'dispatch');
    assert.equal(message.properties.contentType, 'application/json');
    assert.equal(message.properties.headers?.['x-test'], 'yes');
    assert.equal(await inspect.get(QUEUE, { noAck: true }), false, 'published exactly once');
  });

  it('gives every message an id when the caller does not', async () => {
    await publisher.publish(EXCHANGE, 'bound', Buffer.from('{}'));
    const message = await inspect.get(QUEUE, { noAck: true });
    assert.ok(message);
    assert.match(String(message.properties.messageId), /^[0-9a-f-]{36}$/);
  });

  it('rejects a message no queue is bound for, and still publishes the next one', async () => {
    const failure = await publisher
      .publish(EXCHANGE, 'nobody', Buffer.from('{}'), { messageId: 'lost-1' })
      .then(
        () => assert.fail('an unroutable publish must not resolve'),
        (error: unknown) => error,
      );
    assert.ok(failure instanceof PublishError);
    assert.match(failure.message, /no queue is bound to test\.publish for routing key "nobody"/);
    assert.equal(failure.exchange, EXCHANGE);
    assert.equal(failure.routingKey, 'nobody');
    assert.equal(failure.unroutable, true);

    // The same id again, now routable: the earlier return must not be held against it.
    await publisher.publish(EXCHANGE, 'bound', Buffer.from('{}'), { messageId: 'lost-1' });
    const message = await inspect.get(QUEUE, { noAck: true });
    assert.ok(message);
    assert.equal(message.properties.messageId, 'lost-1');
  });

  it('rejects when the broker does not confirm within the timeout', async () => {
    const unreachable = connect('amqp://127.0.0.1:1', { reconnectTimeInSeconds: 0.2 });
    unreachable.on('connectFailed', () => undefined);
    const stranded = publisherOn(unreachable, 60_000);
    try {
      const started = Date.now();
      await assert.rejects(
        stranded.publish(EXCHANGE, 'bound', Buffer.from('{}'), { timeoutMs: 300 }),
        (error: unknown) =>
          error instanceof PublishError &&
          error.message === 'broker did not confirm within 300 ms' &&
          error.routingKey === 'bound' &&
          !error.unroutable,
      );
      const waited = Date.now() - started;
      assert.ok(waited >= 250 && waited < 5_000, `waited ${waited} ms`);
    } finally {
      await stranded.close();
      await unreachable.close();
    }
  });
});
