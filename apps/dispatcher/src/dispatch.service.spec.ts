import assert from 'node:assert/strict';
import { randomUUID, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import * as amqplib from 'amqplib';
import { declareTopology, startAmqpMicroservice } from '@app/amqp';
import { readPrivateKeyFile } from '@app/platform';
import {
  brokerTopology,
  Exchanges,
  Queues,
  signMessage,
  type CancelMessage,
  type ClaimMessage,
  type ClaimResultMessage,
  type DispatchMessage,
  type EventMessage,
  type StatusMessage,
} from '@app/contracts';
import { createTestVhost, type TestVhost } from '../../../test/support/broker';
import { createTestKeys, type TestKeys } from '../../../test/support/keys';
import { fixtures } from '../../../test/support/stack';
import { DispatcherModule } from './dispatcher.module';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The dispatcher against a real broker, with this spec in the relay's place: it takes the
 * claims and the events off their queues and answers as it pleases.
 */
describe('DispatchService', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  let dispatcher: INestApplication | undefined;
  let workDir: string;
  let keys: TestKeys;
  const claims: ConsumeMessage[] = [];
  const statuses: StatusMessage[] = [];
  /** The spec plays the relay: it signs with the relay's key. */
  let relayKey: KeyObject;

  before(async () => {
    vhost = await createTestVhost('aegir_test_dispatch');
    workDir = await mkdtemp(join(tmpdir(), 'aegir-dispatch-spec-'));
    keys = createTestKeys();
    relayKey = readPrivateKeyFile(keys.signingKey, 'signing');
    Object.assign(process.env, keys.dispatcherEnv(), {
      AMQP_URL: vhost.url,
      CATALOGUE_DIR: fixtures.catalogueDir,
      PLAYBOOKS_DIR: fixtures.playbooksDir,
      DISPATCHER_ID: 'spec-dispatcher',
      DISPATCHER_WORK_DIR: join(workDir, 'work'),
      DISPATCHER_STATE_DIR: join(workDir, 'state'),
      DISPATCHER_HEARTBEAT_MS: '600000',
      DISPATCHER_CLAIM_TIMEOUT_MS: '30000',
    });
    connection = await amqplib.connect(vhost.url);
    channel = await connection.createConfirmChannel();
    await declareTopology(channel, brokerTopology(['default']));
    await channel.consume(Queues.claims, (message) => message && claims.push(message), {
      noAck: true,
    });
    await channel.consume(
      Queues.events,
      (message) => {
        if (!message) return;
        const event = JSON.parse(message.content.toString()) as EventMessage;
        const singles = event.kind === 'events' ? event.events : [event];
        for (const single of singles) if (single.kind === 'status') statuses.push(single);
      },
      { noAck: true },
    );

    const moduleRef = await Test.createTestingModule({
      imports: [await DispatcherModule.forRoot()],
    }).compile();
    dispatcher = moduleRef.createNestApplication({ logger: ['error'] });
    await startAmqpMicroservice(dispatcher);
  });

  after(async () => {
    await dispatcher?.close();
    await connection?.close();
    await vhost?.delete();
    await rm(workDir, { recursive: true, force: true });
    keys?.remove();
  });

  async function waitFor<T>(what: string, find: () => T | undefined, ms = 10_000): Promise<T> {
    const started = Date.now();
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() - started > ms) assert.fail(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  /** Publishes a message signed as the relay signs it. */
  async function publish(exchange: string, routingKey: string, message: object): Promise<void> {
    const { body, headers } = signMessage(message, relayKey, 60_000);
    channel.publish(exchange, routingKey, body, { persistent: true, headers });
    await channel.waitForConfirms();
  }

  it('ends an operation cancelled while its claim was being answered as cancelled, running nothing', async () => {
    const operationId = randomUUID();
    const dispatch: DispatchMessage = {
      v: 1,
      kind: 'dispatch',
      operationId,
      type: 'test.sleep',
      target: 'localhost',
      params: { seconds: 30 },
      tasks: [{ id: randomUUID(), name: 'sleep' }],
      sentAt: new Date().toISOString(),
    };
    await publish(Exchanges.dispatch, 'default', { ...dispatch, pool: 'default' });
    const claimed = await waitFor('the claim', () =>
      claims.find((message) => {
        const claim = JSON.parse(message.content.toString()) as ClaimMessage;
        return claim.operationId === operationId;
      }),
    );

    // Who asks, as the relay reads it: the broker checked the user; the app-id names the dispatcher.
    assert.equal(claimed.properties.userId, 'guest');
    assert.equal(claimed.properties.appId, 'spec-dispatcher');
    assert.equal(claimed.properties.replyTo, 'aegir.control.default.spec-dispatcher');

    // The relay granted the claim (the operation is running in its database), but the
    // cancel overtakes the answer.
    const cancel: CancelMessage = {
      v: 1,
      kind: 'cancel',
      operationId,
      reason: 'cancelled by the spec',
      sentAt: new Date().toISOString(),
    };
    await publish(Exchanges.control, '', cancel);
    await sleep(300);
    const granted: ClaimResultMessage = { v: 1, kind: 'claim-result', operationId, granted: true };
    const { claimId } = JSON.parse(claimed.content.toString()) as ClaimMessage;
    await publish('', claimed.properties.replyTo, {
      ...granted,
      dispatcherId: 'spec-dispatcher',
      claimId,
    });

    const ended = await waitFor('the operation to end', () =>
      statuses.find(
        (status) =>
          status.operationId === operationId &&
          status.taskId === null &&
          status.status !== 'running',
      ),
    );
    assert.equal(ended.status, 'cancelled');
    const taskStatuses = statuses
      .filter((status) => status.operationId === operationId && status.taskId !== null)
      .map((status) => status.status);
    assert.deepEqual(taskStatuses, ['cancelled']);
  });
});
