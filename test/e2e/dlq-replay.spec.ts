import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestKeys, type TestKeys } from '../support/keys';
import { RawAmqp } from '../support/services';
import { Stack } from '../support/stack';
import { waitUntil } from '../support/wait';

interface Listed {
  reason: string;
  queue: string | null;
  exchange: string | null;
  routingKey: string;
  messageId: string | null;
}

interface Outcome extends Listed {
  action: string;
  why?: string;
}

const jsonLines = <T>(stdout: string): T[] =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);

describe('aegir dlq:replay and dlq:purge, on the real stack', () => {
  let stack: Stack;
  let admin: RawAmqp;
  /** The relay's next signing key: rotated onto the relay before the dispatcher knew it. */
  let rotated: TestKeys;
  let operationId: string;

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_e2e_dlq' });
    admin = await RawAmqp.connect(stack.vhost.url);
    rotated = createTestKeys(['default']);
  });

  after(async () => {
    await admin?.close();
    await stack?.stop();
    rotated?.remove();
  });

  const ready = () => admin.readyCount('aegir.dead-letter');
  const list = async (): Promise<Listed[]> => {
    const result = await stack.aegir(['dlq:list', '--json', '--limit', '1000']);
    assert.equal(result.code, 0, result.stderr);
    return jsonLines<Listed>(result.stdout);
  };

  it('puts back a dispatch dead-lettered while valid, removes it once confirmed, and it runs', async () => {
    // A key rotation done in the wrong order: the relay signs with the new key first, and the
    // dispatcher, which still has the old public key, dead-letters the dispatch.
    await stack.app('relay').stop();
    await stack.startApp('relay', rotated.relayEnv());
    const operation = await stack.createOperation('test.echo', 'rotated', {
      message: 'replayed and run',
    });
    operationId = operation.id;
    await waitUntil('the dispatch is dead-lettered', async () => (await ready()) === 1, 20_000);
    const [letter] = await list();
    assert.match(letter.reason, /^bad signature/);
    assert.deepEqual(
      [letter.queue, letter.exchange, letter.routingKey],
      ['aegir.dispatch.default', 'aegir.dispatch', 'default'],
    );
    assert.equal((await stack.waitForStatus(operation.id, ['dispatched'])).status, 'dispatched');

    // --dry-run says what it would do and changes nothing
    const dry = await stack.aegir(['dlq:replay', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(
      jsonLines<Outcome>(dry.stdout).map((entry) => [entry.action, entry.messageId]),
      [['would replay', letter.messageId]],
    );
    assert.equal(
      dry.stderr,
      'dry run, nothing changed: 1 would replay (of 1 message in the dead-letter queue)\n',
    );
    await waitUntil('the letter is still there', async () => (await ready()) === 1);
    const [still] = await stack.query(`SELECT status FROM operations WHERE id = $1`, [
      operation.id,
    ]);
    assert.equal(still.status, 'dispatched');

    // the dispatcher gets the new public key; the replay is then taken, claimed and run
    await stack.app('dispatcher').stop();
    await stack.startApp('dispatcher', {
      DISPATCHER_SIGNING_PUBLIC_KEY_FILE: rotated.signingPublicKey,
    });
    const replay = await stack.aegir(['dlq:replay', '--queue', 'aegir.dispatch.default']);
    assert.equal(replay.code, 0, replay.stderr);
    const lines = replay.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^ACTION\s+MESSAGE ID\s+TYPE\s+FROM QUEUE\s+TO\s+REASON$/);
    assert.match(
      lines[1],
      /^replayed\s+\S+\s+dispatch\s+aegir\.dispatch\.default\s+aegir\.dispatch default\s+bad signature/,
    );
    assert.equal(lines[2], '1 replayed (of 1 message in the dead-letter queue)');
    const ended = await stack.waitForEnd(operation.id);
    assert.equal(ended.status, 'succeeded');
    const output = (await stack.lines(operation.id)).filter((line) => line.stream === 'stdout');
    assert.deepEqual(
      output.map((line) => line.line),
      ['replayed and run'],
    );
    assert.equal(await ready(), 0, 'removed from the dead-letter queue');
  });

  it('leaves a refused sender refused: a forged event is not replayed, a forged dispatch is refused again', async () => {
    const holder = stack.envOf('dispatcher').DISPATCHER_ID!;
    // the pool's own user naming another dispatcher: the relay refuses and dead-letters it
    const poolUrl = await stack.brokerUrl('dispatcher-default');
    const pool = await RawAmqp.connect(poolUrl);
    try {
      await pool.publish(
        'aegir.events',
        'status',
        {
          v: 1,
          kind: 'status',
          operationId,
          taskId: null,
          status: 'failed',
          at: new Date().toISOString(),
          dispatcherId: 'intruder',
          exitCode: 1,
          reason: 'forged',
        },
        {
          messageId: 'forged-status',
          type: 'status',
          userId: decodeURIComponent(new URL(poolUrl).username),
          appId: 'intruder',
        },
      );
    } finally {
      await pool.close();
    }
    // an unsigned dispatch (the broker's admin can publish anything): the dispatcher refuses it
    await admin.publish(
      'aegir.dispatch',
      'default',
      { v: 1, kind: 'dispatch', operationId },
      { messageId: 'forged-dispatch', type: 'dispatch' },
    );
    await waitUntil('both are dead-lettered', async () => (await ready()) === 2, 20_000);
    const before = await list();
    assert.deepEqual(before.map((entry) => entry.messageId).sort(), [
      'forged-dispatch',
      'forged-status',
    ]);
    assert.equal(
      before.find((entry) => entry.messageId === 'forged-status')?.reason,
      `refused: operation ${operationId} is held by dispatcher ${holder}, not intruder`,
    );

    const replay = await stack.aegir(['dlq:replay', '--json']);
    assert.equal(replay.code, 1, 'one selected was not replayed');
    const outcomes = jsonLines<Outcome>(replay.stdout);
    const byId = new Map(outcomes.map((entry) => [entry.messageId, entry]));
    assert.equal(byId.get('forged-dispatch')?.action, 'replayed');
    assert.equal(byId.get('forged-status')?.action, 'skipped');
    assert.match(byId.get('forged-status')?.why ?? '', /AMQP user_id/);

    // the dispatcher checked the replay as it checks everything, and dead-lettered it again
    await waitUntil(
      'the forged dispatch is refused again',
      async () =>
        (await ready()) === 2 &&
        (await list()).some(
          (entry) => entry.messageId === 'forged-dispatch' && entry.reason.startsWith('unsigned'),
        ),
      20_000,
    );
    const [row] = await stack.query(`SELECT status, reason FROM operations WHERE id = $1`, [
      operationId,
    ]);
    assert.deepEqual(row, { status: 'succeeded', reason: null });
  });

  it('purges exactly the selected ones; --dry-run and a missing --yes change nothing', async () => {
    await admin.publish('aegir.dead-letter', 'log', 'not json {', {
      messageId: 'm-3',
      headers: { 'x-aegir-reason': 'body is not valid JSON', 'x-aegir-queue': 'aegir.events' },
    });
    await waitUntil('three letters', async () => (await ready()) === 3);

    const refused = await stack.aegir(['dlq:purge', '--id', 'm-3']);
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      'error: dlq:purge removes dead letters for good: pass --yes to confirm (there is no terminal to ask on), or --dry-run to see what it would remove\n',
    );
    const dry = await stack.aegir(['dlq:purge', '--dry-run', '--queue', 'aegir.events']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^would purge\s+forged-status\s/m);
    assert.match(dry.stdout, /^would purge\s+m-3\s/m);
    assert.match(dry.stdout, /dry run, nothing changed: 2 would purge \(of 3 messages/);
    await waitUntil('still three', async () => (await ready()) === 3);

    const one = await stack.aegir(['dlq:purge', '--id', 'forged-dispatch', '--yes', '--json']);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(
      jsonLines<Outcome>(one.stdout).map((entry) => [entry.action, entry.messageId]),
      [['purged', 'forged-dispatch']],
    );
    await waitUntil('two left', async () => (await ready()) === 2);
    assert.deepEqual((await list()).map((entry) => entry.messageId).sort(), [
      'forged-status',
      'm-3',
    ]);

    const limited = await stack.aegir([
      'dlq:purge',
      '--queue',
      'aegir.events',
      '--limit',
      '1',
      '-y',
    ]);
    assert.equal(limited.code, 0, limited.stderr);
    assert.match(limited.stdout, /1 purged \(of 2 messages in the dead-letter queue\)/);
    await waitUntil('one left', async () => (await ready()) === 1);

    // a copy no queue takes is not confirmed as delivered: the letter stays
    await admin.publish('aegir.dead-letter', 'gone-pool', '{}', {
      messageId: 'm-unroutable',
      type: 'dispatch',
      headers: {
        'x-aegir-reason': 'bad signature',
        'x-aegir-queue': 'aegir.dispatch.gone-pool',
        'x-aegir-exchange': 'aegir.dispatch',
      },
    });
    await waitUntil('two again', async () => (await ready()) === 2);
    const unroutable = await stack.aegir(['dlq:replay', '--id', 'm-unroutable', '--json']);
    assert.equal(unroutable.code, 1);
    assert.deepEqual(
      jsonLines<Outcome>(unroutable.stdout).map((entry) => [entry.action, entry.why]),
      [['failed', 'no queue is bound to aegir.dispatch for routing key "gone-pool"']],
    );
    await waitUntil('still two', async () => (await ready()) === 2);
    const gone = await stack.aegir(['dlq:purge', '--id', 'm-unroutable', '--yes']);
    assert.equal(gone.code, 0, gone.stderr);
    await waitUntil('one left again', async () => (await ready()) === 1);

    const none = await stack.aegir(['dlq:replay', '--id', 'no-such-message']);
    assert.equal(none.code, 1);
    assert.equal(none.stdout, 'no dead letter matches (of 1 message in the dead-letter queue)\n');
    const bad = await stack.aegir(['dlq:purge', '--queue', 'a b', '--yes']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --queue must be 1 to 255 printable characters/);
    assert.equal(await ready(), 1);
  });
});
