import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawAmqp } from '../support/services';
import { Stack } from '../support/stack';
import { waitUntil } from '../support/wait';

/** One JSON line of an app's log, as pino wrote it. */
interface LogLine {
  level: number;
  msg?: string;
  context?: string;
  operationId?: string;
  task?: string;
  dispatcherId?: string;
  requestId?: string;
  req?: { id?: string; method?: string; url?: string };
  res?: { statusCode?: number; headers?: Record<string, string> };
  err?: { message?: string };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Logs that lead somewhere: what an operator searching the apps' JSON logs for an
 * operation id, or for the request id an api answer gave, finds.
 */
describe('log lines carry what they are about', () => {
  let stack: Stack;
  let dispatcherId: string;

  before(async () => {
    stack = await Stack.start({
      prefix: 'aegir_e2e_logs',
      env: {
        api: { LOG_LEVEL: 'info' },
        relay: { LOG_LEVEL: 'info' },
        // the line of an operation that succeeded is a debug one
        dispatcher: { LOG_LEVEL: 'debug' },
      },
    });
    dispatcherId = stack.envOf('dispatcher').DISPATCHER_ID!;
  });

  after(async () => {
    await stack?.stop();
  });

  /** Every JSON line an app wrote so far (its start-up may print other text before). */
  function logOf(app: 'api' | 'relay' | 'dispatcher'): LogLine[] {
    return stack
      .app(app)
      .text()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  /** The lines whose message names the operation. */
  const naming = (lines: LogLine[], id: string) => lines.filter((line) => line.msg?.includes(id));

  it("the dispatcher's lines about an operation carry its id and the dispatcher's; a failure names its task", async () => {
    const echo = await stack.createOperation('test.echo', 'logs-echo', {
      message: 'param-3c1e-never-logged',
    });
    const failing = await stack.createOperation('test.fail', 'logs-fail');
    assert.equal((await stack.waitForEnd(echo.id)).status, 'succeeded');
    assert.equal((await stack.waitForEnd(failing.id)).status, 'failed');
    await waitUntil(
      'both end lines are written',
      () =>
        logOf('dispatcher').some((line) => line.msg === `operation ${echo.id} succeeded`) &&
        logOf('dispatcher').some((line) => line.msg?.startsWith(`operation ${failing.id} failed`)),
    );

    const log = logOf('dispatcher');
    for (const { id, type, target, end } of [
      { ...echo, end: `operation ${echo.id} succeeded` },
      { ...failing, end: `operation ${failing.id} failed in task "second"` },
    ]) {
      const about = naming(log, id).map(({ msg, operationId, dispatcherId }) => ({
        msg,
        operationId,
        dispatcherId,
      }));
      assert.deepEqual(
        about,
        [`operation ${id} (${type} on ${target}) running`, end].map((msg) => ({
          msg,
          operationId: id,
          dispatcherId,
        })),
        'one line as it starts, one as it ends, each with its fields',
      );
    }
    const failed = log.find((line) => line.operationId === failing.id && line.task !== undefined);
    assert.equal(failed?.task, 'second', 'the task it failed in is a field of its own');
    assert.equal(
      log.find((line) => line.operationId === echo.id && line.task !== undefined),
      undefined,
      'a success names no task',
    );
    assert.deepEqual(
      log.filter((line) => line.dispatcherId !== dispatcherId),
      [],
      'every line of the dispatcher names it',
    );
    for (const app of ['dispatcher', 'relay', 'api'] as const) {
      assert.doesNotMatch(stack.app(app).text(), /param-3c1e/, `no param in the ${app}'s log`);
    }
  });

  it("the relay's lines about an operation carry its id, and the dispatcher a refused message named", async () => {
    const operation = await stack.createOperation('test.sleep', 'logs-sleep', { seconds: 30 });
    await stack.waitForStatus(operation.id, ['running']);
    // a status sent as another dispatcher of the pool: refused, audited, dead-lettered
    const amqp = await RawAmqp.connect(await stack.brokerUrl('dispatcher-default'));
    try {
      const userId = decodeURIComponent(
        new URL(await stack.brokerUrl('dispatcher-default')).username,
      );
      await amqp.publish(
        'aegir.events',
        'status',
        {
          v: 1,
          kind: 'status',
          operationId: operation.id,
          taskId: null,
          status: 'succeeded',
          at: new Date().toISOString(),
          dispatcherId: 'intruder',
          lineCount: 0,
        },
        { messageId: 'logs-forged-status', userId, appId: 'intruder' },
      );
    } finally {
      await amqp.close();
    }
    await waitUntil('the relay refused and dead-lettered it', () => {
      const messages = naming(logOf('relay'), operation.id).map((line) => line.msg ?? '');
      return (
        messages.some((msg) => msg.startsWith('refused message:status')) &&
        messages.some((msg) => msg.startsWith('dead-lettering message logs-forged-status'))
      );
    });
    const relay = naming(logOf('relay'), operation.id);
    assert.deepEqual(
      relay.filter((line) => line.operationId !== operation.id),
      [],
      'every relay line naming the operation carries its id',
    );
    const refused = relay.find((line) => line.msg?.startsWith('refused message:status'));
    assert.equal(refused?.dispatcherId, 'intruder', 'the dispatcher the message named');

    // cancelled while its task runs: the dispatcher's line names the task
    const cancel = await stack.request('POST', `/operations/${operation.id}/cancel`, {});
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    assert.equal((await stack.waitForEnd(operation.id)).status, 'cancelled');
    await waitUntil('the dispatcher logged the cancel', () =>
      logOf('dispatcher').some((line) => line.msg?.startsWith(`operation ${operation.id}: cancel`)),
    );
    const received = logOf('dispatcher').find((line) =>
      line.msg?.startsWith(`operation ${operation.id}: cancel received`),
    );
    assert.deepEqual(
      [received?.operationId, received?.dispatcherId, received?.task],
      [operation.id, dispatcherId, 'sleep'],
    );
  });

  describe('an api request', () => {
    /** The api's "request completed" line of the request with this id, once written. */
    async function completedLine(requestId: string): Promise<LogLine> {
      let found: LogLine | undefined;
      await waitUntil(`the api logged request ${requestId}`, () => {
        found = logOf('api').find((line) => line.req?.id === requestId && line.res);
        return found !== undefined;
      });
      return found!;
    }

    it('keeps a sane X-Request-Id, answers with it, and every line of the request carries it', async () => {
      const created = await stack.createOperation('test.echo', 'logs-request', { message: 'm' });
      const response = await stack.request('GET', `/operations/${created.id}`, undefined, {
        headers: { 'x-request-id': 'logs-spec-4f2a:1' },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-request-id'], 'logs-spec-4f2a:1');
      const line = await completedLine('logs-spec-4f2a:1');
      assert.deepEqual(
        [line.requestId, line.operationId, line.req?.url],
        ['logs-spec-4f2a:1', created.id, `/api/v1/operations/${created.id}`],
      );
      assert.equal(line.res?.headers?.['x-request-id'], 'logs-spec-4f2a:1');
    });

    it('makes an id when none is sent, or one that is not sane; the create line names its operation', async () => {
      const response = await stack.request('POST', '/operations', {
        type: 'test.echo',
        target: 'logs-request',
        params: { message: 'm' },
      });
      assert.equal(response.status, 201);
      const id = response.headers['x-request-id'] as string;
      assert.match(id, UUID);
      const line = await completedLine(id);
      assert.deepEqual([line.requestId, line.operationId], [id, response.body.id]);

      for (const given of ['two words', 'x'.repeat(129), 'quote"d', 'a\\b']) {
        const answer = await stack.request('GET', '/catalogue', undefined, {
          headers: { 'x-request-id': given },
        });
        assert.equal(answer.status, 200);
        const replaced = answer.headers['x-request-id'] as string;
        assert.match(replaced, UUID, `${JSON.stringify(given)} is replaced`);
        const logged = await completedLine(replaced);
        assert.equal(logged.operationId, undefined, 'a request about no operation names none');
      }

      // refused by the api's own middleware before pino-http sees it: the answer has an id too
      const refused = await stack.request('POST', '/operations', 'a=b', {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-request-id': 'logs-415',
        },
      });
      assert.deepEqual([refused.status, refused.headers['x-request-id']], [415, 'logs-415']);
    });

    it('answered probes and scrapes write no line, on every app; a refused one does', async () => {
      const probe = (
        app: 'api' | 'relay' | 'dispatcher',
        path: string,
        id: string,
        token?: string,
      ) =>
        fetch(`${stack.httpUrl(app)}${path}`, {
          headers: { 'x-request-id': id, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        }).then(async (response) => {
          await response.text();
          return response.status;
        });
      const quiet: string[] = [];
      for (const app of ['api', 'relay', 'dispatcher'] as const) {
        for (const path of ['/health/live', '/health/ready', '/metrics']) {
          const id = `probe-${app}${path.replace(/\//g, '-')}`;
          const token = app === 'api' && path === '/metrics' ? stack.metricsToken : undefined;
          assert.equal(await probe(app, path, id, token), 200, `${app} ${path}`);
          quiet.push(id);
        }
      }
      assert.equal(await probe('api', '/api/v1/health', 'probe-api-v1-health'), 200);
      quiet.push('probe-api-v1-health');
      // answered after the probes: once these are logged, the probes' lines would be too
      assert.equal(await probe('api', '/metrics', 'probe-refused'), 401);
      assert.equal(await probe('relay', '/not-a-probe', 'relay-marker'), 404);
      await completedLine('probe-refused');
      await waitUntil('the relay logged its marker', () =>
        logOf('relay').some((line) => line.req?.id === 'relay-marker' && line.res),
      );
      const logged = [...logOf('api'), ...logOf('relay'), ...logOf('dispatcher')]
        .map((line) => line.req?.id ?? line.requestId)
        .filter((id): id is string => id !== undefined && quiet.includes(id));
      assert.deepEqual(logged, []);
    });

    it('lines written while a request is handled carry its id as well', async () => {
      // the insert fails once the outbox table is gone: the exception handler logs the error
      // inside the request, before its "request completed" line
      await stack.query('ALTER TABLE outbox RENAME TO outbox_gone');
      let response;
      try {
        response = await stack.request(
          'POST',
          '/operations',
          { type: 'test.echo', target: 'logs-request', params: { message: 'm' } },
          { headers: { 'x-request-id': 'logs-spec-inner' } },
        );
      } finally {
        await stack.query('ALTER TABLE outbox_gone RENAME TO outbox');
      }
      assert.equal(response.status, 500);
      await completedLine('logs-spec-inner');
      const inner = logOf('api').filter(
        (line) => line.requestId === 'logs-spec-inner' && line.res === undefined,
      );
      assert.ok(
        inner.some((line) => line.err?.message?.includes('relation "outbox" does not exist')),
        `the error line carries the request id: ${JSON.stringify(inner)}`,
      );
    });
  });
});
