import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { declareTopology } from '@app/amqp';
import { brokerTopology } from '@app/contracts';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { createTestVhost, type TestVhost } from '../../../test/support/broker';
import { aegir } from '../../../test/support/cli';
import { appEntry, repoRoot } from '../../../test/support/processes';
import { waitUntil } from '../../../test/support/wait';

/** script(1), from util-linux, to run a command on a terminal. */
const hasScript = () => spawnSync('script', ['--version']).status === 0;

/**
 * On the real broker, without the apps: dlq:replay of what the broker dead-lettered itself
 * (x-death, no x-aegir-* headers) goes back to the queue it came from, as the console's user,
 * without the dead-letter headers; dlq:purge on a terminal asks before it removes anything.
 */
describe('aegir dlq:replay and dlq:purge, on the broker alone', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;
  let channel: ConfirmChannel;

  before(async () => {
    vhost = await createTestVhost('aegir_test_dlq_replay');
    connection = await connect(vhost.url);
    channel = await connection.createConfirmChannel();
    await declareTopology(channel, brokerTopology(['default']));
  });

  after(async () => {
    await connection?.close();
    await vhost?.delete();
  });

  const count = async (queue: string) => (await channel.checkQueue(queue)).messageCount;

  it('puts it back on its exchange with its routing key, body and properties, and removes it', async () => {
    const body = Buffer.from('{"v":1,"kind":"dispatch"}');
    await new Promise<void>((done, fail) =>
      channel.publish(
        'aegir.dispatch',
        'default',
        body,
        {
          messageId: 'm-broker',
          type: 'dispatch',
          contentType: 'application/json',
          headers: { 'x-aegir-signature': 'sig' },
        },
        (error: unknown) =>
          error ? fail(error instanceof Error ? error : new Error('not confirmed')) : done(),
      ),
    );
    const taken = await channel.get('aegir.dispatch.default', { noAck: false });
    assert.ok(taken);
    channel.nack(taken, false, false); // the quorum queue's x-dead-letter-exchange takes it
    await waitUntil('dead-lettered', async () => (await count('aegir.dead-letter')) === 1);

    const listed = await aegir(['dlq:list', '--json'], { AMQP_URL: vhost.url });
    const letter = JSON.parse(listed.stdout) as Record<string, unknown>;
    assert.deepEqual(
      [letter.reason, letter.queue, letter.exchange, letter.routingKey],
      [
        'rejected by the broker from aegir.dispatch.default',
        'aegir.dispatch.default',
        'aegir.dispatch',
        'default',
      ],
    );

    const replay = await aegir(['dlq:replay', '--json'], { AMQP_URL: vhost.url });
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(
      (JSON.parse(replay.stdout) as { action: string }).action,
      'replayed',
      replay.stdout,
    );
    await waitUntil('back in its queue', async () => (await count('aegir.dispatch.default')) === 1);
    assert.equal(await count('aegir.dead-letter'), 0);
    const back = await channel.get('aegir.dispatch.default', { noAck: true });
    assert.ok(back);
    assert.deepEqual(back.content, body);
    assert.equal(back.properties.messageId, 'm-broker');
    assert.equal(back.properties.type, 'dispatch');
    assert.equal(back.properties.userId, 'guest', "the console's own user, checked by the broker");
    // the dead-letter headers are gone; a quorum queue counts deliveries afresh (0 on its first)
    const { 'x-delivery-count': deliveries, ...headers } = back.properties.headers ?? {};
    assert.deepEqual(headers, { 'x-aegir-signature': 'sig' });
    assert.ok(deliveries === undefined || deliveries === 0, String(deliveries));
  });

  it(
    'dlq:purge on a terminal asks first: no keeps the letter, yes removes it',
    { skip: !hasScript() },
    async () => {
      await new Promise<void>((done, fail) =>
        channel.publish(
          'aegir.dead-letter',
          'status',
          Buffer.from('{}'),
          { messageId: 'm-ask', headers: { 'x-aegir-reason': 'refused: a test' } },
          (error: unknown) =>
            error ? fail(error instanceof Error ? error : new Error('nack')) : done(),
        ),
      );
      await waitUntil('dead-lettered', async () => (await count('aegir.dead-letter')) === 1);
      const onTerminal = (answer: string) =>
        // script(1) gives the command a terminal; the answer comes on its stdin
        spawnSync(
          'script',
          ['-qec', `${process.execPath} ${appEntry('console')} dlq:purge`, '/dev/null'],
          {
            cwd: repoRoot,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, AMQP_URL: vhost.url },
            input: `${answer}\n`,
            encoding: 'utf8',
            timeout: 30_000,
          },
        );
      const no = onTerminal('n');
      assert.equal(no.status, 1, no.stdout);
      assert.match(no.stdout, /would purge\s+m-ask\s/);
      assert.match(no.stdout, /remove this dead letter for good\? \[y\/N\] /);
      assert.match(no.stdout, /not confirmed: nothing removed/);
      await waitUntil('still there', async () => (await count('aegir.dead-letter')) === 1);
      const yes = onTerminal('y');
      assert.equal(yes.status, 0, yes.stdout);
      assert.match(yes.stdout, /1 purged \(of 1 message in the dead-letter queue\)/);
      await waitUntil('removed', async () => (await count('aegir.dead-letter')) === 0);
    },
  );

  it('says which broker it cannot reach, without the password', async () => {
    const result = await aegir(['dlq:replay'], { AMQP_URL: 'amqp://guest:s3cret@127.0.0.1:1/' });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error: cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1\//,
    );
    assert.doesNotMatch(result.stderr, /s3cret/);
  });
});
