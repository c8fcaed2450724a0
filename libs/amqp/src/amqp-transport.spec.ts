import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  Controller,
  Global,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type INestApplication,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import * as amqplib from 'amqplib';
import {
  brokerTopology,
  DEAD_LETTER_QUEUE_HEADER,
  DEAD_LETTER_REASON_HEADER,
  decodeClaim,
  decodeEvent,
  Exchanges,
  Queues,
  type ClaimMessage,
  type LogMessage,
} from '@app/contracts';
import { readSettings } from '@app/platform';
import { createTestVhost, type TestVhost } from '../../../test/support/broker';
import { sleep, waitUntil } from '../../../test/support/wait';
import { AmqpContext } from './amqp-context';
import { amqpTransportProvider, AmqpTransport, startAmqpMicroservice } from './amqp-transport';
import { AmqpModule } from './amqp.module';
import { AmqpSettings } from './amqp.settings';
import { EnvelopeDeserializer } from './envelope-deserializer';
import { Redeliver } from './handler-outcomes';
import { declareTopology } from './topology';

/** What the test controller does with a `log` message, by its first line's text. */
type Behaviour = (message: LogMessage, context: AmqpContext) => Promise<void> | void;
const handlers: { log: Behaviour } = { log: () => undefined };
const seen: { text: string; redelivered: boolean; queue: string }[] = [];

@Controller()
class TestController {
  @EventPattern('log')
  async log(@Payload() message: LogMessage, @Ctx() context: AmqpContext): Promise<void> {
    seen.push({
      text: message.lines[0].text,
      redelivered: context.getMessage().fields.redelivered,
      queue: context.getQueue(),
    });
    await handlers.log(message, context);
  }

  @EventPattern('status')
  status(): void {}

  @MessagePattern('claim')
  claim(@Payload() claim: ClaimMessage) {
    return {
      v: 1,
      kind: 'claim-result',
      operationId: claim.operationId,
      granted: claim.dispatcherId === 'allowed',
    };
  }
}

const queues = [
  {
    queue: Queues.events,
    prefetch: 10,
    patterns: ['log', 'status'],
    deserializer: new EnvelopeDeserializer(decodeEvent),
  },
  {
    queue: Queues.claims,
    prefetch: 10,
    patterns: ['claim'],
    deserializer: new EnvelopeDeserializer(decodeClaim),
  },
];

/** How often each lifecycle hook of a provider ran, over every app of the spec. */
const hooksRun = { init: 0, bootstrap: 0, beforeShutdown: 0, shutdown: 0 };

@Injectable()
class LifecycleProbe
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  onModuleInit(): void {
    hooksRun.init++;
  }
  onApplicationBootstrap(): void {
    hooksRun.bootstrap++;
  }
  beforeApplicationShutdown(): void {
    hooksRun.beforeShutdown++;
  }
  onApplicationShutdown(): void {
    hooksRun.shutdown++;
  }
}

/** As an app's settings module would: AMQP_URL is read when the module is compiled. */
@Global()
@Module({
  providers: [{ provide: AmqpSettings, useFactory: () => readSettings(AmqpSettings, process.env) }],
  exports: [AmqpSettings],
})
class TestSettings {}

@Module({
  imports: [
    TestSettings,
    AmqpModule.forRoot('aegir-test-transport', {
      useFactory: () => ({ expects: brokerTopology([]) }),
    }),
  ],
  controllers: [TestController],
  providers: [LifecycleProbe, amqpTransportProvider({ inject: [], queues: () => queues })],
})
class TestModule {}

const operationId = randomUUID();

function log(text: string): LogMessage {
  return {
    v: 1,
    kind: 'log',
    operationId,
    lines: [{ seq: 1, taskId: null, stream: 'stdout', text, at: new Date().toISOString() }],
  };
}

describe('AmqpTransport', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  let app: INestApplication | undefined;

  before(async () => {
    Logger.overrideLogger(['error']);
    vhost = await createTestVhost('aegir_test_transport');
    process.env.AMQP_URL = vhost.url;
    connection = await amqplib.connect(vhost.url);
    channel = await connection.createConfirmChannel();
    await declareTopology(channel, brokerTopology([]));
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    handlers.log = () => undefined;
    seen.length = 0;
    await channel.purgeQueue(Queues.events);
    await channel.purgeQueue(Queues.deadLetter);
  });

  after(async () => {
    await connection?.close();
    await vhost?.delete();
  });

  async function start(): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({ imports: [TestModule] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await startAmqpMicroservice(app);
    return app;
  }

  async function publish(
    routingKey: string,
    body: object | Buffer,
    options: amqplib.Options.Publish = {},
  ) {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    channel.publish(Exchanges.events, routingKey, content, { persistent: true, ...options });
    await channel.waitForConfirms();
  }

  async function deadLetter(): Promise<GetMessage> {
    let message: GetMessage | false = false;
    await waitUntil('a message is dead-lettered', async () => {
      message = await channel.get(Queues.deadLetter, { noAck: true });
      return message !== false;
    });
    return message as unknown as GetMessage;
  }

  async function unacked(): Promise<number> {
    const { queue, messageCount } = await channel.checkQueue(Queues.events);
    void queue;
    return messageCount;
  }

  it('hands each message to the handler of its kind and acks it only when the handler resolved', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    handlers.log = () => held;
    await start();
    await publish('log', log('held'), { messageId: 'held' });
    await waitUntil('the handler has it', () => seen.length === 1);
    assert.deepEqual(seen[0], { text: 'held', redelivered: false, queue: Queues.events });
    assert.equal(await channel.get(Queues.events), false, 'unacked, so no one else gets it');

    release();
    await app!.close();
    app = undefined;
    await sleep(200);
    assert.equal(await channel.get(Queues.events), false, 'acked: not delivered again');
    assert.equal(await unacked(), 0);
  });

  it('dead-letters, with the reason, a message that does not decode or that its queue does not carry', async () => {
    await start();
    await publish('log', Buffer.from('{nope'), { messageId: 'not-json' });
    const notJson = await deadLetter();
    assert.equal(notJson.properties.messageId, 'not-json');
    assert.equal(notJson.properties.headers?.[DEAD_LETTER_REASON_HEADER], 'body is not valid JSON');
    assert.equal(notJson.properties.headers?.[DEAD_LETTER_QUEUE_HEADER], Queues.events);

    const heartbeat = {
      v: 1,
      kind: 'heartbeat',
      dispatcherId: 'd',
      pool: 'default',
      operations: [],
      at: new Date().toISOString(),
    };
    await publish('heartbeat', heartbeat, { messageId: 'no-handler' });
    const unhandled = await deadLetter();
    assert.equal(
      unhandled.properties.headers?.[DEAD_LETTER_REASON_HEADER],
      `${Queues.events} takes no heartbeat message`,
    );
    assert.deepEqual(seen, []);
  });

  it('dead-letters the message of a failing handler with its error, and goes on', async () => {
    handlers.log = (message) => {
      if (message.lines[0].text === 'explode') throw new Error('boom');
    };
    await start();
    await publish('log', log('explode'), { messageId: 'explode' });
    await publish('log', log('after'), { messageId: 'after' });
    const dead = await deadLetter();
    assert.equal(dead.properties.messageId, 'explode');
    assert.equal(dead.properties.headers?.[DEAD_LETTER_REASON_HEADER], 'handler failed: boom');
    await waitUntil('the next one is handled', () => seen.some((s) => s.text === 'after'));
    assert.equal(await channel.get(Queues.deadLetter), false, 'only the failing one');
  });

  it('gives a message back to the queue when its handler throws Redeliver', async () => {
    let first = true;
    handlers.log = () => {
      if (first) {
        first = false;
        throw new Redeliver('not now');
      }
    };
    await start();
    await publish('log', log('again'), { messageId: 'again' });
    await waitUntil('it is handled twice', () => seen.length === 2);
    assert.deepEqual(
      seen.map((s) => s.redelivered),
      [false, true],
    );
    await sleep(100);
    assert.equal(await channel.get(Queues.deadLetter), false, 'not dead-lettered');
    assert.equal(seen.length, 2, 'and not a third time');
  });

  it("publishes a @MessagePattern handler's answer to the message's reply-to queue", async () => {
    await start();
    const { queue: replyTo } = await channel.assertQueue('', { exclusive: true });
    const claim = {
      v: 1,
      kind: 'claim',
      operationId,
      dispatcherId: 'allowed',
      replyTo,
      at: new Date().toISOString(),
    };
    await publish('claim', claim, { correlationId: 'c-1' });
    let reply: GetMessage | false = false;
    await waitUntil('the answer arrives', async () => {
      reply = await channel.get(replyTo, { noAck: true });
      return reply !== false;
    });
    const answer = reply as unknown as GetMessage;
    assert.deepEqual(JSON.parse(answer.content.toString()), {
      v: 1,
      kind: 'claim-result',
      operationId,
      granted: true,
    });
    assert.equal(answer.properties.type, 'claim-result');
    assert.equal(answer.properties.correlationId, 'c-1');
  });

  it("runs each provider's lifecycle hooks once, though app and microservice share them", async () => {
    const before = { ...hooksRun };
    const started = await start();
    assert.equal(hooksRun.init - before.init, 1);
    assert.equal(hooksRun.bootstrap - before.bootstrap, 1);
    await started.close();
    app = undefined;
    assert.deepEqual(
      {
        beforeShutdown: hooksRun.beforeShutdown - before.beforeShutdown,
        shutdown: hooksRun.shutdown - before.shutdown,
      },
      { beforeShutdown: 1, shutdown: 1 },
    );
  });

  it('refuses to start when a queue carries a pattern that no handler takes', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [TestModule] }).compile();
    const bad = moduleRef.createNestApplication({ logger: false });
    const transport = bad.get(AmqpTransport);
    (transport as unknown as { options: { queues: unknown[] } }).options.queues = [
      { ...queues[0], patterns: ['log', 'status', 'lines'] },
    ];
    await assert.rejects(startAmqpMicroservice(bad), /no handler for lines/);
    await bad.close();
  });
});
