import assert from 'node:assert/strict';
import { randomUUID, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import * as amqplib from 'amqplib';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { declareTopology, startAmqpMicroservice } from '@app/amqp';
import type { OperationPlan } from '@app/catalogue';
import {
  brokerTopology,
  DEAD_LETTER_QUEUE_HEADER,
  DEAD_LETTER_REASON_HEADER,
  decodeSignedDispatch,
  Exchanges,
  Queues,
  SIGNATURE_HEADER,
  signatureProblem,
  type LogMessage,
  type StatusMessage,
} from '@app/contracts';
import { OperationStore, type OperationView } from '@app/database';
import { readPublicKeyFile } from '@app/platform';
import { sleep, waitUntil } from '../../../test/support/wait';
import { createBrokerUser, createTestVhost, type TestVhost } from '../../../test/support/broker';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { createTestKeys, type TestKeys } from '../../../test/support/keys';
import { RelayModule } from './relay.module';

function plan(pool: string): OperationPlan {
  return {
    type: 'demo.hello',
    pool,
    target: 'localhost',
    params: { greeting: 'hi' },
    tasks: [{ name: 'hello', runner: 'command' }],
    exclusive: false,
    retry: { attempts: 0, backoffSeconds: 0 },
  };
}

function log(operationId: string, seq: number, text: string): LogMessage {
  return {
    v: 1,
    kind: 'log',
    operationId,
    lines: [{ seq, taskId: null, stream: 'stdout', text, at: new Date().toISOString() }],
  };
}

function running(operationId: string): StatusMessage {
  return {
    v: 1,
    kind: 'status',
    operationId,
    taskId: null,
    status: 'running',
    at: new Date().toISOString(),
    dispatcherId: 'dispatcher-1',
  };
}

interface OutboxRow {
  published_at: Date | null;
  payload: object;
  attempts: number;
  last_error: string | null;
}

describe('relay', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  /** As the default pool's dispatchers publish: their broker user. */
  let poolConnection: ChannelModel;
  let poolChannel: ConfirmChannel;
  let poolUser: string;
  let relay: INestApplication | undefined;
  let ds: DataSource;
  let store: OperationStore;
  /** Created and cancelled before the relay started. */
  let cancelledEarly: OperationView;
  const deadLetters = new Map<string, GetMessage>();
  let keys: TestKeys;
  /** The public half of the relay's signing key: what dispatchers check with. */
  let relayKey: KeyObject;

  before(async () => {
    db = await createTestDatabase('aegir_test_relay');
    vhost = await createTestVhost('aegir_test_relay');
    keys = createTestKeys([]);
    relayKey = readPublicKeyFile(keys.signingPublicKey, 'signing');
    Object.assign(process.env, keys.relayEnv(), {
      DATABASE_URL: db.url,
      AMQP_URL: vhost.url,
      DATABASE_CONNECT_RETRIES: '0',
      RELAY_OUTBOX_POLL_MS: '200',
      // every event published by one test within 200 ms is written as one batch
      RELAY_EVENTS_BATCH_MS: '200',
      RELAY_DATABASE_RETRY_MS: '200',
      RELAY_LOST_CHECK_MS: '600000',
    });
    connection = await amqplib.connect(vhost.url);
    channel = await connection.createConfirmChannel();
    await declareTopology(channel, brokerTopology(['default', 'early']));
    const poolUrl = await createBrokerUser(vhost, 'dispatcher-default');
    poolUser = decodeURIComponent(new URL(poolUrl).username);
    poolConnection = await amqplib.connect(poolUrl);
    poolChannel = await poolConnection.createConfirmChannel();

    const moduleRef = await Test.createTestingModule({
      imports: [await RelayModule.forRoot()],
    }).compile();
    relay = moduleRef.createNestApplication({ logger: ['error'] });
    ds = relay.get(DataSource);
    store = relay.get(OperationStore);
    cancelledEarly = await store.create(plan('early'));
    await ds.query(`UPDATE operations SET status = 'cancelled' WHERE id = $1`, [cancelledEarly.id]);
    await startAmqpMicroservice(relay);
  });

  after(async () => {
    await relay?.close();
    await poolConnection?.close();
    await connection?.close();
    await vhost?.delete();
    await db?.drop();
    keys?.remove();
  });

  /** The message as a dispatcher checks it: signed by the relay over exactly these bytes. */
  function signedBody(message: GetMessage): unknown {
    const signature = message.properties.headers?.[SIGNATURE_HEADER] as unknown;
    assert.equal(signatureProblem(message.content, signature, relayKey), undefined);
    return JSON.parse(message.content.toString());
  }

  const operation = async (id: string) => {
    const [row]: { status: string; dispatched_at: Date | null; dispatcher_id: string | null }[] =
      await ds.query(`SELECT status, dispatched_at, dispatcher_id FROM operations WHERE id = $1`, [
        id,
      ]);
    return row;
  };

  const outbox = async (operationId: string): Promise<OutboxRow> => {
    const [row]: OutboxRow[] = await ds.query(
      `SELECT published_at, attempts, last_error, payload FROM outbox
        WHERE operation_id = $1 AND kind = 'dispatch'`,
      [operationId],
    );
    return row;
  };

  const lines = async (operationId: string): Promise<string[]> => {
    const rows: { line: string }[] = await ds.query(
      `SELECT line FROM log_lines WHERE operation_id = $1 ORDER BY seq`,
      [operationId],
    );
    return rows.map((row) => row.line);
  };

  /** Published as dispatcher-1 of the default pool (its broker user, its app-id) unless `as` says. */
  async function publishEvents(...events: { id: string; body: object | Buffer; as?: string }[]) {
    for (const { id, body, as = 'dispatcher-1' } of events) {
      const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const kind = Buffer.isBuffer(body) ? 'log' : (body as { kind: string }).kind;
      poolChannel.publish(Exchanges.events, kind, content, {
        messageId: id,
        persistent: true,
        userId: poolUser,
        appId: as,
      });
    }
    await poolChannel.waitForConfirms();
  }

  /** As a granted claim leaves it: running, held by `dispatcherId`. */
  async function claimed(id: string, dispatcherId = 'dispatcher-1'): Promise<void> {
    await ds.query(`UPDATE operations SET status = 'running', dispatcher_id = $2 WHERE id = $1`, [
      id,
      dispatcherId,
    ]);
  }

  /** Waits for the message with this id on the dead-letter queue. */
  async function deadLettered(messageId: string): Promise<GetMessage> {
    await waitUntil(`${messageId} is dead-lettered`, async () => {
      for (;;) {
        const message = await channel.get(Queues.deadLetter, { noAck: true });
        if (!message) break;
        deadLetters.set(String(message.properties.messageId), message);
      }
      return deadLetters.has(messageId);
    });
    return deadLetters.get(messageId)!;
  }

  it('publishes a new operation to its pool as a valid dispatch message, signed', async () => {
    const op = await store.create(plan('default'));
    await waitUntil('the operation is dispatched', async () => {
      return (await operation(op.id)).status === 'dispatched';
    });

    const row = await outbox(op.id);
    assert.ok(row.published_at, 'the outbox row is marked published');
    assert.deepEqual(row.payload, {}, 'a published row keeps no message (it held the params)');
    assert.equal(row.last_error, null);
    assert.ok((await operation(op.id)).dispatched_at);

    const message = await channel.get(Queues.dispatch('default'), { noAck: true });
    assert.ok(message, 'the dispatch message is in the pool queue');
    assert.equal(message.properties.type, 'dispatch');
    assert.equal(message.properties.deliveryMode, 2);
    assert.match(String(message.properties.messageId), /^outbox-\d+$/);
    signedBody(message);
    const decoded = decodeSignedDispatch(message.content);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.equal(decoded.message.pool, 'default', 'the pool is inside what is signed');
    const ttl = Date.parse(decoded.message.expiresAt) - Date.now();
    assert.ok(
      ttl > 86_300_000 && ttl <= 86_400_000,
      `valid for a day (RELAY_DISPATCH_TTL_MS), ${ttl} ms`,
    );
    assert.equal(decoded.message.operationId, op.id);
    assert.equal(decoded.message.type, 'demo.hello');
    assert.deepEqual(decoded.message.params, { greeting: 'hi' });
    assert.deepEqual(
      decoded.message.tasks,
      op.tasks!.map((task) => ({ id: task.id, name: task.name })),
    );
    assert.equal(await channel.get(Queues.dispatch('default')), false, 'published once');
  });

  it('keeps an operation whose pool has no queue, and publishes it once there is one', async () => {
    const op = await store.create(plan('nopool'));
    await waitUntil('a publish was tried', async () => (await outbox(op.id)).attempts >= 1);

    const failed = await outbox(op.id);
    assert.equal(failed.published_at, null);
    assert.match(failed.last_error ?? '', /no queue is bound to aegir\.dispatch .*"nopool"/);
    assert.equal((await operation(op.id)).status, 'queued');

    await declareTopology(channel, brokerTopology(['nopool']));
    await waitUntil('it is published on a later try', async () => {
      return (await outbox(op.id)).published_at !== null;
    });
    const row = await outbox(op.id);
    assert.ok(row.attempts >= 2);
    assert.equal(row.last_error, null);
    assert.equal((await operation(op.id)).status, 'dispatched');
    const message = await channel.get(Queues.dispatch('nopool'), { noAck: true });
    assert.ok(message);
    signedBody(message);
    const decoded = decodeSignedDispatch(message.content);
    assert.equal(decoded.ok && decoded.message.operationId, op.id);
  });

  it('dead-letters a malformed event with its reason and writes the valid one after it', async () => {
    const op = await store.create(plan('default'));
    await claimed(op.id);
    await publishEvents(
      { id: 'malformed', body: Buffer.from('{nope') },
      { id: 'valid-after', body: log(op.id, 1, 'still written') },
    );

    await waitUntil('the valid line is written', async () => (await lines(op.id)).length === 1);
    assert.deepEqual(await lines(op.id), ['still written']);
    const dead = await deadLettered('malformed');
    assert.equal(dead.properties.headers?.[DEAD_LETTER_REASON_HEADER], 'body is not valid JSON');
    assert.equal(dead.properties.headers?.[DEAD_LETTER_QUEUE_HEADER], Queues.events);
    assert.equal(dead.content.toString(), '{nope');
  });

  it('dead-letters an event the database refuses and writes the rest of its batch', async () => {
    const op = await store.create(plan('default'));
    await claimed(op.id);
    const ghost = randomUUID();
    await publishEvents(
      { id: 'batch-1', body: log(op.id, 1, 'one') },
      { id: 'batch-ghost', body: log(ghost, 1, 'of nobody') },
      { id: 'batch-2', body: running(op.id) },
      { id: 'batch-3', body: log(op.id, 2, 'two') },
    );

    const dead = await deadLettered('batch-ghost');
    assert.match(
      String(dead.properties.headers?.[DEAD_LETTER_REASON_HEADER]),
      /^database refused the event: log lines for unknown operation /,
    );
    await waitUntil('the valid events are written', async () => {
      return (await lines(op.id)).length === 2 && (await operation(op.id)).status === 'running';
    });
    assert.deepEqual(await lines(op.id), ['one', 'two']);
    assert.deepEqual(await lines(ghost), []);
    assert.ok(!deadLetters.has('batch-1') && !deadLetters.has('batch-3'));
  });

  /** A claim as dispatcher `dispatcherId` of the default pool sends it, answered to its own queue. */
  async function sendClaim(
    operationId: string,
    dispatcherId: string,
    replyTo: string,
    claimId: string = randomUUID(),
  ) {
    const claim = {
      v: 1,
      kind: 'claim',
      operationId,
      dispatcherId,
      replyTo,
      at: new Date().toISOString(),
      claimId,
    };
    const messageId = `claim-${dispatcherId}-${randomUUID()}`;
    poolChannel.publish(Exchanges.events, 'claim', Buffer.from(JSON.stringify(claim)), {
      persistent: true,
      messageId,
      replyTo,
      userId: poolUser,
      appId: dispatcherId,
    });
    await poolChannel.waitForConfirms();
    return messageId;
  }

  /** The dispatcher's own control queue (declared here as the broker's admin). */
  async function controlQueue(dispatcherId: string): Promise<string> {
    const { queue } = await channel.assertQueue(Queues.control('default', dispatcherId), {
      exclusive: true,
    });
    return queue;
  }

  /** The answer, its signature checked; its nonce and expiry are checked and left out. */
  async function answer(replyTo: string) {
    let reply: GetMessage | false = false;
    await waitUntil('the claim is answered', async () => {
      reply = await channel.get(replyTo, { noAck: true });
      return reply !== false;
    });
    const { nonce, expiresAt, ...rest } = signedBody(reply as unknown as GetMessage) as {
      nonce: string;
      expiresAt: string;
    };
    assert.match(nonce, /^[0-9a-f-]{36}$/);
    const ttl = Date.parse(expiresAt) - Date.now();
    assert.ok(ttl > 290_000 && ttl <= 300_000, `valid for 5 minutes, ${ttl} ms`);
    return rest;
  }

  it("answers a claim on the claimant's own queue, signed: granted once, refused to another", async () => {
    const op = await store.create(plan('default'));
    await waitUntil('dispatched', async () => (await operation(op.id)).status === 'dispatched');
    const [first, second] = [await controlQueue('d-1'), await controlQueue('d-2')];
    const claimIds = { 'd-1': randomUUID(), 'd-2': randomUUID() };

    await sendClaim(op.id, 'd-1', first, claimIds['d-1']);
    assert.deepEqual(await answer(first), {
      v: 1,
      kind: 'claim-result',
      operationId: op.id,
      granted: true,
      dispatcherId: 'd-1',
      claimId: claimIds['d-1'],
    });
    assert.equal((await operation(op.id)).status, 'running');

    await sendClaim(op.id, 'd-2', second, claimIds['d-2']);
    assert.deepEqual(await answer(second), {
      v: 1,
      kind: 'claim-result',
      operationId: op.id,
      granted: false,
      reason: 'operation is running on dispatcher d-1',
      dispatcherId: 'd-2',
      claimId: claimIds['d-2'],
    });
  });

  it('dead-letters a claim of another pool, for another dispatcher or answered elsewhere', async () => {
    const op = await store.create(plan('other'));
    const mine = await store.create(plan('default'));
    const own = await controlQueue('d-3');
    const ofAnotherPool = await sendClaim(op.id, 'd-3', own);
    const elsewhere = await sendClaim(mine.id, 'd-3', Queues.control('default', 'd-1'));
    const asGuest = `claim-guest-${randomUUID()}`;
    channel.publish(
      Exchanges.events,
      'claim',
      Buffer.from(
        JSON.stringify({
          v: 1,
          kind: 'claim',
          operationId: mine.id,
          dispatcherId: 'd-3',
          replyTo: own,
          at: new Date().toISOString(),
        }),
      ),
      { persistent: true, messageId: asGuest, replyTo: own, userId: 'guest', appId: 'd-3' },
    );
    await channel.waitForConfirms();

    const reasons = await Promise.all(
      [ofAnotherPool, elsewhere, asGuest].map(async (id) =>
        String((await deadLettered(id)).properties.headers?.[DEAD_LETTER_REASON_HEADER]),
      ),
    );
    assert.deepEqual(reasons, [
      `refused: operation ${op.id} is of pool other, not of default`,
      `refused: a claim answered to aegir.control.default.d-1, not to aegir.control.default.d-3`,
      "refused: sent by broker user guest, which is no dispatcher pool's user",
    ]);
    assert.equal(await channel.get(own), false, 'none was answered');
    assert.equal((await operation(mine.id)).status, 'dispatched');
    const foreign = await operation(op.id);
    assert.ok(foreign.status !== 'running' && foreign.dispatcher_id === null, 'not claimed');
  });

  it('dead-letters events not sent by the claim holder of the operation, and changes nothing', async () => {
    const op = await store.create(plan('default'));
    await claimed(op.id, 'holder');
    const ofOther = await store.create(plan('other'));
    await claimed(ofOther.id, 'holder');
    const unclaimed = await store.create(plan('default'));
    const succeeded = { ...running(op.id), status: 'succeeded', dispatcherId: 'holder' };
    await publishEvents(
      { id: 'forged-app-id', body: log(op.id, 1, 'forged'), as: 'intruder' },
      { id: 'forged-status', body: { ...succeeded, dispatcherId: 'intruder' }, as: 'intruder' },
      { id: 'forged-pool', body: { ...succeeded, operationId: ofOther.id }, as: 'holder' },
      { id: 'forged-unclaimed', body: { ...succeeded, operationId: unclaimed.id }, as: 'holder' },
      { id: 'forged-named', body: succeeded, as: 'intruder' },
      { id: 'holder-line', body: log(op.id, 1, 'from the holder'), as: 'holder' },
    );

    const reason = async (id: string) =>
      String((await deadLettered(id)).properties.headers?.[DEAD_LETTER_REASON_HEADER]);
    assert.equal(
      await reason('forged-app-id'),
      `refused: operation ${op.id} is held by dispatcher holder, not intruder`,
    );
    assert.equal(
      await reason('forged-status'),
      `refused: operation ${op.id} is held by dispatcher holder, not intruder`,
    );
    assert.equal(
      await reason('forged-pool'),
      `refused: operation ${ofOther.id} is of pool other, not of default`,
    );
    assert.match(
      await reason('forged-unclaimed'),
      /^refused: operation \S+ is (queued|dispatched): no dispatcher holds its claim$/,
    );
    assert.equal(
      await reason('forged-named'),
      'refused: a status of dispatcher holder sent by intruder',
    );
    await waitUntil("the holder's line is written", async () => (await lines(op.id)).length === 1);
    assert.deepEqual(await lines(op.id), ['from the holder']);
    assert.equal((await operation(op.id)).status, 'running');
    assert.equal((await operation(ofOther.id)).status, 'running');
    assert.notEqual((await operation(unclaimed.id)).status, 'succeeded');
  });

  it("records the dispatcher of a heartbeat from its pool's user, and refuses one for another pool", async () => {
    const op = await store.create(plan('default'));
    await claimed(op.id, 'beating');
    const beat = (extra: object = {}) => ({
      v: 1,
      kind: 'heartbeat',
      dispatcherId: 'beating',
      pool: 'default',
      operations: [op.id],
      at: new Date().toISOString(),
      concurrency: 2,
      ...extra,
    });
    // the user of pool `other`, as its dispatchers publish
    const otherUrl = await createBrokerUser(vhost, 'dispatcher-other');
    const otherUser = decodeURIComponent(new URL(otherUrl).username);
    const other = await amqplib.connect(otherUrl);
    try {
      const otherChannel = await other.createConfirmChannel();
      otherChannel.publish(Exchanges.events, 'heartbeat', Buffer.from(JSON.stringify(beat())), {
        messageId: 'beat-from-other-user',
        persistent: true,
        userId: otherUser,
        appId: 'beating',
      });
      await otherChannel.waitForConfirms();
    } finally {
      await other.close();
    }
    await publishEvents(
      { id: 'beat-for-other-pool', body: beat({ pool: 'other' }), as: 'beating' },
      { id: 'beat-named-another', body: beat({ dispatcherId: 'someone' }), as: 'beating' },
      { id: 'beat', body: beat(), as: 'beating' },
    );

    const reason = async (id: string) =>
      String((await deadLettered(id)).properties.headers?.[DEAD_LETTER_REASON_HEADER]);
    assert.equal(
      await reason('beat-from-other-user'),
      'refused: a heartbeat for pool default from the user of pool other',
    );
    assert.equal(
      await reason('beat-for-other-pool'),
      'refused: a heartbeat for pool other from the user of pool default',
    );
    assert.equal(
      await reason('beat-named-another'),
      'refused: a heartbeat of dispatcher someone sent by beating',
    );
    const dispatchers = () =>
      ds.query<
        { pool: string; dispatcher_id: string; operations: string[]; concurrency: number }[]
      >(
        `SELECT pool, dispatcher_id, operations, concurrency FROM dispatchers ORDER BY pool, dispatcher_id`,
      );
    await waitUntil('the heartbeat is recorded', async () => (await dispatchers()).length > 0);
    assert.deepEqual(await dispatchers(), [
      { pool: 'default', dispatcher_id: 'beating', operations: [op.id], concurrency: 2 },
    ]);
    const [row]: { heartbeat_at: Date | null }[] = await ds.query(
      `SELECT heartbeat_at FROM operations WHERE id = $1`,
      [op.id],
    );
    assert.ok(row.heartbeat_at !== null, "the operation's heartbeat too, in the same statement");
  });

  it('never publishes an operation cancelled before it reached the broker', async () => {
    await waitUntil('its outbox row is done with', async () => {
      return (await outbox(cancelledEarly.id)).published_at !== null;
    });
    assert.equal((await operation(cancelledEarly.id)).status, 'cancelled');
    assert.equal(await channel.get(Queues.dispatch('early')), false, 'nothing to run');
  });

  it('on close, finishes writing the batch in hand and acks it', async () => {
    const op = await store.create(plan('default'));
    await waitUntil('dispatched', async () => (await operation(op.id)).status === 'dispatched');
    await claimed(op.id);
    // Hold the operation's row so the relay's write of the batch waits on it.
    const locker = new Client({ connectionString: db.url, application_name: 'aegir-test-lock' });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM operations WHERE id = $1 FOR UPDATE`, [op.id]);
      await publishEvents({ id: 'in-hand', body: { ...running(op.id), status: 'succeeded' } });
      await waitUntil('the relay waits on the lock', async () => {
        const waiting: unknown[] = await ds.query(
          `SELECT 1 FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND application_name = 'aegir-relay'`,
        );
        return waiting.length > 0;
      });

      let closed = false;
      const closing = relay!.close().then(() => (closed = true));
      relay = undefined;
      await sleep(300);
      assert.equal(closed, false, 'close() did not wait for the batch in hand');
      await locker.query('COMMIT');
      await closing;
    } finally {
      await locker.end();
    }

    const check = new Client({ connectionString: db.url, application_name: 'aegir-test' });
    await check.connect();
    try {
      const { rows } = await check.query(`SELECT status FROM operations WHERE id = $1`, [op.id]);
      assert.equal(rows[0].status, 'succeeded', 'the batch was written');
    } finally {
      await check.end();
    }
    await sleep(300); // a message its closed channel did not ack would be back by now
    const left = await channel.get(Queues.events, { noAck: true });
    assert.equal(left && left.properties.messageId, false, 'the batch was acked');
  });
});
