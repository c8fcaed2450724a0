import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GetMessage } from 'amqplib';
import {
  DEAD_LETTER_REASON_HEADER,
  Exchanges,
  Queues,
  SIGNATURE_HEADER,
  signMessage,
  type ClaimMessage,
  type SignedDispatchMessage,
} from '@app/contracts';
import { readPrivateKeyFile } from '@app/platform';
import { RawAmqp } from '../support/services';
import { Stack } from '../support/stack';
import { sleep, waitUntil } from '../support/wait';

/**
 * Signed dispatch, tried as an attacker on the broker would: every message the relay sends
 * a dispatcher that was not signed by the relay's key, was altered, is for another pool or
 * dispatcher, has expired or comes a second time is dead-lettered with its reason, and
 * nothing runs; the genuine messages still do.
 */
describe('signed dispatch: what the relay did not sign never runs', () => {
  let stack: Stack;
  let amqp: RawAmqp;
  /** The relay's own key: the test signs with it to reach the checks after the signature. */
  let relayKey: KeyObject;
  const intruder = generateKeyPairSync('ed25519').privateKey;
  const deadLetters = new Map<string, GetMessage>();

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_e2e_sign' });
    amqp = await RawAmqp.connect(stack.vhost.url);
    relayKey = readPrivateKeyFile(stack.keys.signingKey, 'signing');
  });

  after(async () => {
    await amqp?.close();
    await stack?.stop();
  });

  const controlQueue = () => Queues.control('default', stack.envOf('dispatcher').DISPATCHER_ID!);

  /** The operation ids test.mark ran, in order (each run appends its id to runs.log). */
  async function runs(): Promise<string[]> {
    const log = await readFile(join(stack.stateDir, 'runs.log'), 'utf8').catch(() => '');
    return log.split('\n').filter(Boolean);
  }

  /** The reason the message with this id was dead-lettered with. */
  async function deadLetterReason(messageId: string): Promise<string> {
    await waitUntil(
      `${messageId} is dead-lettered`,
      async () => {
        for (const message of await amqp.peek(Queues.deadLetter)) {
          deadLetters.set(String(message.properties.messageId), message);
        }
        return deadLetters.has(messageId);
      },
      20_000,
    );
    return String(deadLetters.get(messageId)!.properties.headers?.[DEAD_LETTER_REASON_HEADER]);
  }

  async function statusOf(id: string): Promise<{ status: string; tasks: string[] }> {
    const [operation] = await stack.query(`SELECT status FROM operations WHERE id = $1`, [id]);
    const tasks = await stack.query(`SELECT status FROM tasks WHERE operation_id = $1`, [id]);
    return { status: operation.status, tasks: tasks.map((task) => task.status) };
  }

  /** Takes the relay's dispatch of an operation off the pool queue, as an attacker could. */
  async function takeDispatch(operationId: string): Promise<GetMessage> {
    await stack.waitForStatus(operationId, ['dispatched']);
    for (;;) {
      const message = await amqp.channel.get(Queues.dispatch('default'), { noAck: true });
      assert.ok(message, `the dispatch of ${operationId} is in the pool queue`);
      const body = JSON.parse(message.content.toString()) as SignedDispatchMessage;
      if (body.operationId === operationId) return message;
    }
  }

  it('dead-letters a dispatch unsigned, altered, for another pool, expired or replayed; the genuine one runs once', async () => {
    assert.equal(await stack.app('dispatcher').stop(), 0);
    const a = await stack.createOperation('test.mark', `sign-a-${randomUUID()}`, { seconds: 0 });
    const b = await stack.createOperation('test.mark', `sign-b-${randomUUID()}`, { seconds: 0 });
    const genuineA = await takeDispatch(a.id);
    const genuineB = await takeDispatch(b.id);
    const signature = genuineB.properties.headers?.[SIGNATURE_HEADER] as string;
    assert.match(signature, /^[A-Za-z0-9+/]{86}==$/);
    const bodyB = JSON.parse(genuineB.content.toString()) as SignedDispatchMessage;
    assert.equal(bodyB.pool, 'default');

    const publish = (id: string, body: Buffer | object, headers: Record<string, string> = {}) =>
      amqp.publish(Exchanges.dispatch, 'default', body, {
        messageId: id,
        type: 'dispatch',
        contentType: 'application/json',
        headers,
      });
    const resigned = (changes: object, ttlMs = 60_000) =>
      signMessage({ ...bodyB, ...changes }, relayKey, ttlMs);

    await publish('unsigned', genuineB.content);
    await publish(
      'other-target',
      { ...bodyB, target: 'db-1.internal' },
      { [SIGNATURE_HEADER]: signature },
    );
    await publish(
      'other-params',
      { ...bodyB, params: { seconds: 59 } },
      { [SIGNATURE_HEADER]: signature },
    );
    const intruders = signMessage({ ...bodyB, target: 'db-1.internal' }, intruder, 60_000);
    await publish('intruder-key', intruders.body, intruders.headers);
    const otherPool = resigned({ pool: 'gpu' });
    await publish('other-pool', otherPool.body, otherPool.headers);
    const expired = resigned({}, -1000);
    await publish('expired', expired.body, expired.headers);
    // the genuine dispatch of A, and a copy of it
    await publish('genuine-a', genuineA.content, genuineA.properties.headers);
    await publish('replayed-a', genuineA.content, genuineA.properties.headers);

    await stack.startApp('dispatcher');
    const endA = await stack.waitForStatus(a.id, ['succeeded', 'failed'], 30_000);
    assert.equal(endA.status, 'succeeded');

    const bad = 'bad signature: the body was altered, or not signed by the relay';
    assert.equal(await deadLetterReason('unsigned'), 'unsigned: no x-aegir-signature header');
    assert.equal(await deadLetterReason('other-target'), bad);
    assert.equal(await deadLetterReason('other-params'), bad);
    assert.equal(await deadLetterReason('intruder-key'), bad);
    assert.equal(
      await deadLetterReason('other-pool'),
      'dispatch refused: for pool gpu, not default',
    );
    assert.match(await deadLetterReason('expired'), /^dispatch refused: expired at \S+Z$/);
    assert.equal(
      await deadLetterReason('replayed-a'),
      `dispatch refused: replayed: nonce ${JSON.parse(genuineA.content.toString()).nonce} was seen already`,
    );
    assert.ok(!deadLetters.has('genuine-a'), 'the genuine dispatch was not refused');
    const dead = deadLetters.get('other-target')!;
    assert.equal(JSON.parse(dead.content.toString()).target, 'db-1.internal', 'kept as it came');

    await sleep(1000); // anything taken would have begun by now
    assert.deepEqual(await runs(), [a.id], 'A ran once; nothing of B ran');
    assert.deepEqual(await statusOf(b.id), { status: 'dispatched', tasks: ['queued'] });
    const entries = await readdir(stack.workDir);
    assert.ok(!entries.some((entry) => entry.includes(b.id)), `no workspace: ${entries.join()}`);

    // B's own message, as the relay signed it, still runs it, with its own params.
    await publish('genuine-b', genuineB.content, genuineB.properties.headers);
    const endB = await stack.waitForStatus(b.id, ['succeeded', 'failed'], 30_000);
    assert.equal(endB.status, 'succeeded');
    assert.equal(endB.target, bodyB.target);
    assert.deepEqual(await runs(), [a.id, b.id]);
  });

  it('dead-letters a forged claim answer: the operation waits for the relay’s own', async () => {
    assert.equal(await stack.app('dispatcher').stop(), 0);
    const c = await stack.createOperation('test.mark', `sign-c-${randomUUID()}`, { seconds: 0 });
    await stack.waitForStatus(c.id, ['dispatched']);
    assert.equal(await stack.app('relay').stop(), 0);
    await stack.startApp('dispatcher');

    // the dispatcher has asked; no relay answers
    let claim: ClaimMessage | undefined;
    await waitUntil('the claim waits in the claims queue', async () => {
      const claims = await amqp.peek(Queues.claims);
      claim = claims
        .map((message) => JSON.parse(message.content.toString()) as ClaimMessage)
        .find((message) => message.operationId === c.id);
      return claim !== undefined;
    });
    const dispatcherId = stack.envOf('dispatcher').DISPATCHER_ID!;
    const grant = {
      v: 1,
      kind: 'claim-result',
      operationId: c.id,
      granted: true,
      dispatcherId,
      claimId: claim!.claimId,
    };
    const answer = (id: string, body: Buffer | object, headers: Record<string, string> = {}) =>
      amqp.publish('', controlQueue(), body, { messageId: id, type: 'claim-result', headers });
    await answer('unsigned-grant', grant);
    const forged = signMessage(grant, intruder, 60_000);
    await answer('intruder-grant', forged.body, forged.headers);
    const theirs = signMessage({ ...grant, dispatcherId: 'someone-else' }, relayKey, 60_000);
    await answer('grant-for-another', theirs.body, theirs.headers);
    const old = signMessage({ ...grant, claimId: randomUUID() }, relayKey, 60_000);
    await answer('grant-of-another-claim', old.body, old.headers);

    assert.equal(await deadLetterReason('unsigned-grant'), 'unsigned: no x-aegir-signature header');
    assert.equal(
      await deadLetterReason('intruder-grant'),
      'bad signature: the body was altered, or not signed by the relay',
    );
    assert.equal(
      await deadLetterReason('grant-for-another'),
      `claim-result refused: for dispatcher someone-else, not ${dispatcherId}`,
    );
    assert.equal(
      await deadLetterReason('grant-of-another-claim'),
      `claim-result refused: it answers claim ${old.message.claimId}, not the one pending for operation ${c.id}`,
    );
    await sleep(1000);
    assert.deepEqual(await statusOf(c.id), { status: 'dispatched', tasks: ['queued'] });
    assert.ok(!(await runs()).includes(c.id), 'nothing ran on a forged grant');

    // the relay comes back and answers the claim itself
    await stack.startApp('relay');
    const end = await stack.waitForStatus(c.id, ['succeeded', 'failed'], 30_000);
    assert.equal(end.status, 'succeeded');
    assert.equal((await runs()).filter((id) => id === c.id).length, 1);
  });

  it('dead-letters a forged cancel; the relay’s own cancel stops the operation', async () => {
    const d = await stack.createOperation('test.mark', `sign-d-${randomUUID()}`, { seconds: 30 });
    await stack.waitForStatus(d.id, ['running']);
    await waitUntil('the task runs', async () => (await runs()).includes(d.id));
    const cancel = {
      v: 1,
      kind: 'cancel',
      operationId: d.id,
      reason: 'forged',
      sentAt: new Date().toISOString(),
    };
    const publish = (id: string, body: Buffer | object, headers: Record<string, string> = {}) =>
      amqp.publish(Exchanges.control, '', body, { messageId: id, type: 'cancel', headers });
    await publish('unsigned-cancel', cancel);
    const forged = signMessage(cancel, intruder, 60_000);
    await publish('intruder-cancel', forged.body, forged.headers);
    const expired = signMessage(cancel, relayKey, -1);
    await publish('expired-cancel', expired.body, expired.headers);

    assert.equal(
      await deadLetterReason('unsigned-cancel'),
      'unsigned: no x-aegir-signature header',
    );
    assert.equal(
      await deadLetterReason('intruder-cancel'),
      'bad signature: the body was altered, or not signed by the relay',
    );
    assert.match(await deadLetterReason('expired-cancel'), /^cancel refused: expired at /);
    await sleep(500);
    assert.equal((await statusOf(d.id)).status, 'running', 'a forged cancel is not obeyed');

    const cancelled = await stack.request('POST', `/operations/${d.id}/cancel`, {
      reason: 'the genuine one',
    });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    const end = await stack.waitForStatus(d.id, ['cancelled', 'succeeded'], 30_000);
    assert.equal(end.status, 'cancelled');
  });

  it('a dispatch that expires in its queue is dead-lettered, and its operation ends lost', async () => {
    assert.equal(await stack.app('dispatcher').stop(), 0);
    assert.equal(await stack.app('relay').stop(), 0);
    await stack.startApp('relay', {
      RELAY_DISPATCH_TTL_MS: '1500',
      RELAY_LOST_AFTER_MS: '1000',
      RELAY_LOST_CHECK_MS: '200',
    });
    const e = await stack.createOperation('test.mark', `sign-e-${randomUUID()}`, { seconds: 0 });
    await stack.waitForStatus(e.id, ['dispatched']);
    const [message] = (await amqp.peek(Queues.dispatch('default'))).filter(
      (m) => JSON.parse(m.content.toString()).operationId === e.id,
    );
    assert.ok(message, 'its dispatch waits in the pool queue');
    await sleep(2000);
    await stack.startApp('dispatcher');

    assert.match(
      await deadLetterReason(String(message.properties.messageId)),
      /^dispatch refused: expired at /,
    );
    const end = await stack.waitForStatus(e.id, ['lost', 'succeeded', 'failed'], 20_000);
    assert.equal(end.status, 'lost');
    assert.equal(
      end.reason,
      'no dispatcher of pool default took it before its dispatch expired (1.5 s after it was published)',
    );
    assert.deepEqual((await statusOf(e.id)).tasks, ['lost']);
    assert.ok(!(await runs()).includes(e.id));
  });
});
