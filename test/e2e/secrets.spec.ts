import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as amqplib from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { Stack } from '../support/stack';

const run = promisify(execFile);
const management = process.env.TEST_AMQP_MANAGEMENT_URL ?? 'http://guest:guest@127.0.0.1:15672';

/** The exchanges of a vhost (management API), but the default one. */
async function exchangesOf(vhost: string): Promise<{ name: string; type: string }[]> {
  const url = new URL(`/api/exchanges/${encodeURIComponent(vhost)}`, management);
  const auth = Buffer.from(
    `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`,
  );
  url.username = '';
  url.password = '';
  const response = await fetch(url, {
    headers: { authorization: `Basic ${auth.toString('base64')}` },
  });
  assert.equal(response.status, 200, `management API: ${response.status}`);
  const all = (await response.json()) as { name: string; type: string }[];
  return all.filter((exchange) => exchange.name !== '' && !exchange.name.startsWith('amq.'));
}

describe('sealed secrets, end to end: the value is only in the task', () => {
  let stack: Stack;
  let connection: ChannelModel;
  let channel: Channel;
  /** One capture queue per exchange of the vhost, bound to everything it routes. */
  const captures: { exchange: string; queue: string }[] = [];
  const password = `pw-"e2e"-${randomUUID()}`;
  /** How the value would look inside JSON (a dump, a message, a log line of pino). */
  const forms = [password, JSON.stringify(password).slice(1, -1)];

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_e2e_secrets' });
    connection = await amqplib.connect(stack.vhost.url);
    channel = await connection.createChannel();
    for (const { name, type } of await exchangesOf(stack.vhost.name)) {
      const { queue } = await channel.assertQueue('', { exclusive: true });
      const keys = type === 'direct' ? ['default'] : type === 'topic' ? ['#'] : [''];
      for (const key of keys) await channel.bindQueue(queue, name, key);
      captures.push({ exchange: name, queue });
    }
  });

  after(async () => {
    await connection?.close().catch(() => undefined);
    await stack?.stop();
  });

  /** Every message the capture queues took, by exchange. */
  async function captured(): Promise<Record<string, string[]>> {
    const byExchange: Record<string, string[]> = {};
    for (const { exchange, queue } of captures) {
      const bodies: string[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (!message) break;
        bodies.push(
          `${JSON.stringify(message.properties.headers ?? {})} ${message.content.toString()}`,
        );
      }
      byExchange[exchange] = bodies;
    }
    return byExchange;
  }

  const holds = (text: string) => forms.some((form) => text.includes(form));

  it('runs a playbook that prints its secret; no row, message or app log holds the value', async () => {
    assert.deepEqual(captures.map((capture) => capture.exchange).sort(), [
      'aegir.control',
      'aegir.dead-letter',
      'aegir.dispatch',
      'aegir.events',
    ]);
    const created = await stack.request('POST', '/operations', {
      type: 'test.secret',
      target: 'web1',
      params: { password },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.params.password, '********');
    // the CLI seals too, from a --param
    const cli = await stack.aegir([
      'op:create',
      'test.secret',
      '--target',
      'web2',
      '--param',
      `password=${password}`,
      '--json',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const fromCli = JSON.parse(cli.stdout) as { id: string; params: Record<string, unknown> };
    assert.equal(fromCli.params.password, '********');

    for (const id of [created.body.id, fromCli.id]) {
      const done = await stack.waitForEnd(id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(done.params.password, '********');

      const lines = await stack.lines(id);
      const text = lines.map((line) => line.line);
      assert.ok(!text.some(holds), 'no stored line holds the value');
      // masked where the playbook printed it
      assert.ok(
        text.some((line) => line.includes('"msg": "user admin has password ********"')),
        text.join('\n'),
      );
      assert.ok(
        text.some((line) => line.includes('"password": "********"')),
        text.join('\n'),
      );
      // the next task, in the same workspace, no longer finds the playbook's extra-vars file
      const listed = lines.filter((line) => line.stream === 'stdout').map((line) => line.line);
      assert.ok(
        listed.includes('vars.json') && !listed.includes('extra-vars.json'),
        listed.join(' '),
      );
      const varsFile = /vars file (\S+)"/.exec(text.join('\n'))?.[1];
      assert.ok(
        varsFile?.startsWith(stack.workDir),
        `the vars file was in the work dir: ${varsFile}`,
      );
      await assert.rejects(readFile(varsFile!), { code: 'ENOENT' });
    }
    // the task had the exact value
    const digest = await readFile(join(stack.stateDir, 'secret.sha256'), 'utf8');
    assert.equal(digest.trim(), createHash('sha256').update(password).digest('hex'));
    assert.deepEqual(
      await readdir(stack.workDir).then((names) => names.filter((n) => n.startsWith('op-'))),
      [],
    );

    const { stdout: show } = await stack.aegir(['op:show', created.body.id, '--json']);
    assert.ok(
      show.includes('"password": "********"') || show.includes('"password":"********"'),
      show,
    );
    const { stdout: list } = await stack.aegir(['op:list', '--json']);
    assert.ok(!holds(show) && !holds(list));

    // PostgreSQL: not in any row of a full dump
    const { stdout: dump } = await run('pg_dump', ['--no-owner', stack.db.url], {
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.ok(dump.includes(created.body.id), 'the dump has the operation');
    assert.ok(dump.includes('"sealed"'), 'and its sealed param');
    assert.ok(!holds(dump), 'the dump holds no clear value');

    // RabbitMQ: not in any message of any exchange
    const messages = await captured();
    assert.equal(messages['aegir.dispatch'].length, 2, 'both dispatches were captured');
    assert.ok(messages['aegir.dispatch'].every((body) => body.includes('"sealed"')));
    assert.ok(messages['aegir.events'].length > 0, 'the events were captured');
    for (const [exchange, bodies] of Object.entries(messages)) {
      assert.ok(!bodies.some(holds), `no message on ${exchange} holds the value`);
    }

    // the apps' own logs
    for (const [name, app] of stack.apps) {
      assert.ok(app.text().length > 0, `${name} logged`);
      assert.ok(!holds(app.text()), `${name}'s log holds no clear value`);
    }
  });
});
