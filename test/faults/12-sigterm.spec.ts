import assert from 'node:assert/strict';
import { get, request } from 'node:http';
import { describe, it } from 'node:test';
import {
  assertAllEnded,
  assertNothingDeadLettered,
  assertStoredOnce,
  describeFacts,
  examine,
  expectAllLines,
  stdoutOf,
  TERMINAL,
} from './checks';
import { KILL_GRACE_MS, runScenario, sleep, waitForLines, useFaultStack } from './scenario';

const COUNT = 100_000;
const SHORT_GRACE_MS = 1500;

/**
 * A POST on a connection of its own whose headers go out now and whose body goes out when
 * `finish()` is called: until then the request is in flight in the api.
 */
function postSlowly(
  url: string,
  token: string,
  body: object,
): { finish(): void; result: Promise<Answer> } {
  const payload = JSON.stringify(body);
  let finish!: () => void;
  const result = new Promise<Answer>((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body: text }));
        response.on('error', (error) => resolve({ error: errorCode(error), body: text }));
      },
    );
    req.on('error', (error) => resolve({ error: errorCode(error), body: '' }));
    req.flushHeaders();
    finish = () => req.end(payload);
  });
  return { finish, result };
}

interface Answer {
  status?: number;
  error?: string;
  body: string;
}

function errorCode(error: Error): string {
  return (error as NodeJS.ErrnoException).code ?? error.message;
}

describe('fault: SIGTERM each app mid-work', () => {
  const stack = useFaultStack();

  it('relay: finishes and acks its batch, exits 0; a new relay stores the rest once', () =>
    runScenario('SIGTERM relay', async (tally) => {
      const operation = await stack.createOperation('test.lines', 'term-relay', {
        count: COUNT,
      });
      await waitForLines(stack, operation.id, 1000);
      const relay = stack.app('relay');
      relay.kill('SIGTERM');
      assert.equal(await relay.waitForExit(30_000), 0, relay.text().slice(-5000));
      await stack.startApp('relay');
      tally.add(await expectAllLines(stack, operation.id, COUNT));
      await assertNothingDeadLettered(stack);
    }));

  it('dispatcher: lets the running operation finish within the grace period, exits 0', () =>
    runScenario('SIGTERM dispatcher (finishes)', async (tally) => {
      const operation = await stack.createOperation('test.drip', 'term-dispatcher', {
        count: 300,
        interval: 10,
      });
      await waitForLines(stack, operation.id, 20);
      const dispatcher = stack.app('dispatcher');
      dispatcher.kill('SIGTERM');
      const [row] = await stack.query(`SELECT status FROM operations WHERE id = $1`, [
        operation.id,
      ]);
      assert.equal(row.status, 'running', 'SIGTERM came while it ran');
      assert.equal(await dispatcher.waitForExit(60_000), 0, dispatcher.text().slice(-5000));
      tally.add(await expectAllLines(stack, operation.id, 300));
      await stack.startApp('dispatcher');
    }));

  it('dispatcher: past DISPATCHER_SHUTDOWN_GRACE_MS cancels it with the reason, exits 0', () =>
    runScenario('SIGTERM dispatcher (grace over)', async (tally) => {
      await stack.app('dispatcher').stop();
      const dispatcher = await stack.startApp('dispatcher', {
        DISPATCHER_SHUTDOWN_GRACE_MS: String(SHORT_GRACE_MS),
      });
      const operation = await stack.createOperation('test.sleep', 'term-grace', {
        seconds: 30,
      });
      await stack.waitForStatus(operation.id, ['running']);
      await sleep(500);
      const sent = Date.now();
      dispatcher.kill('SIGTERM');
      assert.equal(await dispatcher.waitForExit(30_000), 0, dispatcher.text().slice(-5000));
      const ms = Date.now() - sent;
      assert.ok(ms <= SHORT_GRACE_MS + KILL_GRACE_MS + 5000, `exited after ${ms} ms`);
      await stack.waitForStatus(operation.id, TERMINAL, 10_000);
      const facts = await examine(stack, operation.id);
      tally.add(facts);
      assert.equal(facts.status, 'cancelled', describeFacts(facts));
      assert.match(facts.reason ?? '', /shut down/);
      assert.ok(
        facts.reason?.includes(stack.envOf('dispatcher').DISPATCHER_ID!),
        `the reason names the dispatcher: ${facts.reason}`,
      );
      assertStoredOnce(facts);
      await stack.startApp('dispatcher');
    }));

  it('api: answers the requests in flight, exits 0', () =>
    runScenario('SIGTERM api', async (tally) => {
      const operation = await stack.createOperation('test.lines', 'term-api', {
        count: COUNT,
      });
      await waitForLines(stack, operation.id, 1000);
      const api = stack.app('api');
      const inFlight = [1, 2, 3, 4, 5].map((i) =>
        postSlowly(`${stack.apiUrl}/operations`, stack.token, {
          type: 'test.echo',
          target: `term-api-${i}`,
          params: { message: `in flight ${i}` },
        }),
      );
      await sleep(500); // the api has the requests' headers, and waits for their bodies
      api.kill('SIGTERM');
      await sleep(500);
      assert.ok(api.running, 'the api waits for the requests in flight');
      const refused = await new Promise<string | undefined>((resolve) => {
        get(`${stack.apiUrl}/catalogue`, { agent: false }, (response) => {
          response.resume();
          resolve(String(response.statusCode));
        }).on('error', (error) => resolve(errorCode(error)));
      });
      for (const request of inFlight) request.finish();
      const answers = await Promise.all(inFlight.map((request) => request.result));
      assert.deepEqual(
        answers.map((answer) => answer.status ?? answer.error),
        [201, 201, 201, 201, 201],
        JSON.stringify(answers),
      );
      assert.equal(await api.waitForExit(30_000), 0, api.text().slice(-5000));
      tally.note(`a new request during the drain: ${refused}`);
      await stack.startApp('api');
      tally.add(await expectAllLines(stack, operation.id, COUNT));
      for (const [index, answer] of answers.entries()) {
        const { id } = JSON.parse(answer.body) as { id: string };
        await stack.waitForStatus(id, TERMINAL, 30_000);
        const facts = await examine(stack, id);
        tally.add(facts);
        assert.equal(facts.status, 'succeeded', describeFacts(facts));
        assert.deepEqual(stdoutOf(facts), [`in flight ${index + 1}`]);
      }
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
    }));
});
