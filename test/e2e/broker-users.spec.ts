import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as amqplib from 'amqplib';
import type { Channel } from 'amqplib';
import { createBrokerUser } from '../support/broker';
import { RawAmqp } from '../support/services';
import { Stack } from '../support/stack';
import { waitUntil } from '../support/wait';

/**
 * What each app's broker user may not do, asked of the real broker, and what the relay does
 * with events that do not come from an operation's own dispatcher.
 */
describe('broker users with least privilege', () => {
  let stack: Stack;
  let admin: RawAmqp;
  /** A dispatcher user of another pool, made as broker:setup would for a pool `other`. */
  let otherPoolUrl: string;

  before(async () => {
    stack = await Stack.start({ apps: ['relay', 'dispatcher', 'api'] });
    admin = await RawAmqp.connect(stack.vhost.url);
    // a queue of another pool, as broker:setup would make it for a pool `other`
    await admin.channel.assertQueue('aegir.dispatch.other', {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    otherPoolUrl = await createBrokerUser(stack.vhost, 'dispatcher-other');
  });

  after(async () => {
    await admin?.close();
    await stack?.stop();
  });

  /**
   * Runs `action` on a fresh channel as the broker user of `role`; resolves with the
   * broker's reason for closing the channel ('' when it did not).
   */
  async function refusal(role: string, action: (channel: Channel) => Promise<unknown>) {
    const connection = await amqplib.connect(await stack.brokerUrl(role));
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createConfirmChannel();
      let closedWith = '';
      channel.on('error', (error: Error) => (closedWith = error.message));
      try {
        await action(channel);
        await channel.waitForConfirms();
      } catch (error) {
        closedWith ||= (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      return closedWith;
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  const publish = (exchange: string, routingKey: string) => async (channel: Channel) => {
    channel.publish(exchange, routingKey, Buffer.from('{}'));
    await (channel as amqplib.ConfirmChannel).waitForConfirms();
  };
  const consume = (queue: string) => (channel: Channel) => channel.consume(queue, () => undefined);
  const ACCESS_REFUSED = /ACCESS_REFUSED/;

  it('refuses a dispatcher publishing to the dispatch exchange', async () => {
    assert.match(
      await refusal('dispatcher-default', publish('aegir.dispatch', 'default')),
      /ACCESS_REFUSED - access to exchange 'aegir\.dispatch' .* refused for user 'aegir-dispatcher-default@/,
    );
  });

  it("refuses a dispatcher reading the relay's queues or another pool's queue", async () => {
    for (const queue of ['aegir.events', 'aegir.claims', 'aegir.dispatch.other']) {
      const reason = await refusal('dispatcher-default', consume(queue));
      assert.match(reason, ACCESS_REFUSED, queue);
      assert.ok(reason.includes(`queue '${queue}'`), reason);
    }
  });

  it("refuses a dispatcher declaring another pool's control queue", async () => {
    const reason = await refusal('dispatcher-default', (channel) =>
      channel.assertQueue('aegir.control.other.d-1', { exclusive: true }),
    );
    assert.match(reason, ACCESS_REFUSED);
  });

  it('refuses the relay reading a dispatch queue', async () => {
    const reason = await refusal('relay', consume('aegir.dispatch.default'));
    assert.match(reason, /ACCESS_REFUSED - access to queue 'aegir\.dispatch\.default'/);
  });

  it('refuses either declaring an exchange', async () => {
    for (const role of ['relay', 'dispatcher-default']) {
      for (const [name, type] of [
        ['aegir.events', 'topic'],
        ['aegir.new', 'fanout'],
      ]) {
        const reason = await refusal(role, (channel) =>
          channel.assertExchange(name, type, { durable: true }),
        );
        assert.match(reason, new RegExp(`ACCESS_REFUSED - access to exchange '${name}'`), role);
      }
    }
  });

  it('refuses a message whose user_id is not the user that sent it', async () => {
    const reason = await refusal('dispatcher-default', async (channel) => {
      channel.publish('aegir.events', 'status', Buffer.from('{}'), { userId: 'aegir-relay' });
      await (channel as amqplib.ConfirmChannel).waitForConfirms();
    });
    assert.match(
      reason,
      /PRECONDITION_FAILED - user_id property set to 'aegir-relay' but authenticated user was/,
    );
  });

  it('lets the console read the dead letters and replay only to the signed exchanges', async () => {
    assert.equal(
      await refusal('console', (channel) => channel.checkQueue('aegir.dead-letter')),
      '',
    );
    assert.match(await refusal('console', consume('aegir.events')), ACCESS_REFUSED);
    assert.match(await refusal('console', publish('aegir.events', 'status')), ACCESS_REFUSED);
    assert.match(await refusal('console', publish('aegir.dead-letter', 'x')), ACCESS_REFUSED);
    assert.match(await refusal('console', consume('aegir.dispatch.default')), ACCESS_REFUSED);
    // dlq:replay: what a dispatcher takes only with the relay's signature (a routing key no
    // queue is bound to, so that no dispatcher of this stack sees it)
    assert.equal(await refusal('console', publish('aegir.dispatch', 'no-such-pool')), '');
  });

  it('dead-letters forged lines and statuses with the reason, and leaves the operation as it was', async () => {
    const operation = await stack.createOperation('test.sleep', 'forged', { seconds: 30 });
    const running = await stack.waitForStatus(operation.id, ['running']);
    const holder = stack.envOf('dispatcher').DISPATCHER_ID!;
    assert.equal(running.dispatcher_id, holder);
    const now = new Date().toISOString();
    const succeeded = (dispatcherId: string) => ({
      v: 1,
      kind: 'status',
      operationId: operation.id,
      taskId: null,
      status: 'succeeded',
      at: now,
      dispatcherId,
      lineCount: 1,
    });
    const lines = {
      v: 1,
      kind: 'lines',
      operationId: operation.id,
      taskId: null,
      seq: 1000,
      at: now,
      text: ['a fake log'],
      ms: [0],
      streams: 'o',
    };
    const send = async (role: string, appId: string, messageId: string, body: object) => {
      const url = role === 'dispatcher-other' ? otherPoolUrl : await stack.brokerUrl(role);
      const amqp = await RawAmqp.connect(url);
      try {
        const userId = decodeURIComponent(new URL(url).username);
        const kind = (body as { kind: string }).kind;
        await amqp.publish('aegir.events', kind, body, { messageId, userId, appId });
      } finally {
        await amqp.close();
      }
    };
    // another pool's user, naming the holder; the pool's own user, as another dispatcher
    await send('dispatcher-other', holder, 'forged-pool-status', succeeded(holder));
    await send('dispatcher-other', holder, 'forged-pool-lines', lines);
    await send('dispatcher-default', 'intruder', 'forged-app-status', succeeded('intruder'));
    await send('dispatcher-default', 'intruder', 'forged-app-lines', lines);

    const expected: Record<string, string> = {
      'forged-pool-status': `refused: operation ${operation.id} is of pool default, not of other`,
      'forged-pool-lines': `refused: operation ${operation.id} is of pool default, not of other`,
      'forged-app-status': `refused: operation ${operation.id} is held by dispatcher ${holder}, not intruder`,
      'forged-app-lines': `refused: operation ${operation.id} is held by dispatcher ${holder}, not intruder`,
    };
    let listed: { messageId: string; reason: string; queue: string }[] = [];
    await waitUntil('the four are dead-lettered', async () => {
      const result = await stack.aegir(['dlq:list', '--json', '--limit', '100']);
      assert.equal(result.code, 0, result.stderr);
      listed = result.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as (typeof listed)[number]);
      return Object.keys(expected).every((id) => listed.some((entry) => entry.messageId === id));
    });
    for (const [messageId, reason] of Object.entries(expected)) {
      const entry = listed.find((message) => message.messageId === messageId);
      assert.deepEqual([entry?.reason, entry?.queue], [reason, 'aegir.events'], messageId);
    }
    assert.match(
      stack.app('relay').text(),
      /refused message:status from aegir-dispatcher-default@\S+\/intruder on aegir\.events/,
    );

    const audited = await stack.query<{ action: string; actor: string; reason: string }>(
      `SELECT action, actor, detail->>'reason' AS reason FROM audit_events
        WHERE outcome = 'refused' AND operation_id = $1 AND action LIKE 'message:%' ORDER BY id`,
      [operation.id],
    );
    assert.deepEqual(
      audited.map((entry) => entry.reason).sort(),
      Object.values(expected)
        .map((reason) => reason.replace(/^refused: /, ''))
        .sort(),
      'each refusal is in the audit',
    );
    assert.ok(audited.some((entry) => entry.actor.endsWith('/intruder')));

    const [row] = await stack.query(
      `SELECT status, dispatcher_id, line_count FROM operations WHERE id = $1`,
      [operation.id],
    );
    assert.deepEqual(row, { status: 'running', dispatcher_id: holder, line_count: null });
    assert.deepEqual(
      (await stack.lines(operation.id)).filter((line) => line.line === 'a fake log'),
      [],
      'no forged line is stored',
    );
    const cancelled = await stack.request('POST', `/operations/${operation.id}/cancel`, {
      reason: 'the test is done',
    });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal((await stack.waitForEnd(operation.id)).status, 'cancelled');
  });
});
