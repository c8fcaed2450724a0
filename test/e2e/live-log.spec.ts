import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  sseEvents,
  type LiveEnd,
  type LiveLine,
  type LiveStatus,
  type SseEvent,
} from '@app/platform';
import { Stack } from '../support/stack';

/** The events of one connection, until `until` says stop (that event included). */
async function collect(
  url: string,
  token: string,
  until: (event: SseEvent, all: SseEvent[]) => boolean,
  lastEventId?: string,
): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents({
    url,
    headers: { authorization: `Bearer ${token}` },
    lastEventId,
    maxRetries: 0,
    signal: AbortSignal.timeout(60_000),
  })) {
    events.push(event);
    if (until(event, events)) return events;
  }
  throw new Error(`the stream stopped before the condition: ${JSON.stringify(events.slice(-3))}`);
}

const linesOf = (events: SseEvent[]): LiveLine[] =>
  events
    .filter((e) => e.event === 'lines')
    .flatMap((e) => (JSON.parse(e.data) as { lines: LiveLine[] }).lines);

const statusesOf = (events: SseEvent[]): LiveStatus[] =>
  events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data) as LiveStatus);

const endOf = (events: SseEvent[]): LiveEnd | undefined => {
  const end = events.find((e) => e.event === 'end');
  return end && (JSON.parse(end.data) as LiveEnd);
};

const isEnd = (event: SseEvent) => event.event === 'end';

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('the live log over SSE, on the real stack', () => {
  let stack: Stack;
  let viewer: string;

  before(async () => {
    stack = await Stack.start({
      prefix: 'aegir_e2e_sse',
      env: { api: { API_SSE_HEARTBEAT_MS: '400' } },
    });
    viewer = await stack.createToken('sse-viewer', 'viewer');
  });

  after(async () => {
    await stack?.stop();
  });

  const logUrl = (id: string, query = '') => `${stack.apiUrl}/operations/${id}/log/stream${query}`;

  it('replays, goes live, and resumes with Last-Event-ID without a gap or a duplicate', async () => {
    const op = await stack.createOperation('test.drip', 'site-sse', { count: 60, interval: 40 });
    // the first connection: from the start, cut off once line 20 is in
    const first = await collect(logUrl(op.id), viewer, (_e, all) =>
      linesOf(all).some((line) => line.seq >= 20),
    );
    // live, not a replay at the end: the operation still runs when line 20 has come
    const [atCut] = await stack.query(`SELECT status FROM operations WHERE id = $1`, [op.id]);
    assert.equal(atCut.status, 'running');
    const lastId = [...first].reverse().find((e) => e.id !== undefined)?.id;
    assert.ok(lastId, 'lines events carry an id');
    // the second: resumes after the last id the first one saw, until the end
    const second = await collect(logUrl(op.id), viewer, isEnd, lastId);

    const stored = await stack.lines(op.id);
    assert.equal(stored.filter((l) => l.stream === 'stdout').length, 60);
    const seqs = [...linesOf(first), ...linesOf(second)].map((line) => line.seq);
    assert.deepEqual(
      seqs,
      range(1, stored.length),
      'every line once, in order, across the reconnect',
    );
    assert.deepEqual(
      [...linesOf(first), ...linesOf(second)].map((line) => line.text),
      stored.map((line) => line.line),
    );
    for (const event of [...first, ...second].filter((e) => e.event === 'lines')) {
      const lines = (JSON.parse(event.data) as { lines: LiveLine[] }).lines;
      assert.ok(lines.length >= 1);
      assert.equal(event.id, String(lines[lines.length - 1].seq), 'id: the seq of its last line');
    }

    // a status event first on each connection, and the final one before the end
    assert.equal(first[0].event, 'status');
    assert.equal(second[0].event, 'status');
    const statuses = statusesOf(second);
    const final = statuses[statuses.length - 1];
    assert.equal(final.status, 'succeeded');
    assert.deepEqual(
      final.tasks.map((t) => [t.name, t.status]),
      [['drip', 'succeeded']],
    );
    assert.ok(
      [...statusesOf(first), ...statuses].some((s) => s.status === 'running'),
      'the move to running was told',
    );

    const end = endOf(second);
    assert.deepEqual(end, {
      status: 'succeeded',
      reason: null,
      exitCode: 0,
      lineCount: stored.length,
      linesStored: stored.length,
      complete: true,
      lastSeq: stored.length,
    });
    assert.equal(second[second.length - 1].event, 'end', 'nothing after the end');
  });

  it('closes the stream after the end event', async () => {
    const op = await stack.createOperation('test.lines', 'site-sse', { count: 5 });
    await stack.waitForEnd(op.id);
    const last = (await stack.lines(op.id)).length;
    const response = await fetch(logUrl(op.id, `?after=${last - 2}`), {
      headers: { authorization: `Bearer ${viewer}` },
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await response.text(); // resolves only because the api closed it
    const events = text.split('\n\n').filter((frame) => /^event: /m.test(frame));
    assert.deepEqual(
      events.map((frame) => /^event: (.*)$/m.exec(frame)?.[1]),
      ['status', 'lines', 'end'],
    );
    assert.match(events[1], new RegExp(`^id: ${last}$`, 'm'));
    assert.deepEqual(
      (JSON.parse(/^data: (.*)$/m.exec(events[1])?.[1] ?? '') as { lines: LiveLine[] }).lines.map(
        (l) => l.seq,
      ),
      [last - 1, last],
    );
  });

  it('groups lines so that a stream carries at most about 20 events a second', async () => {
    const op = await stack.createOperation('test.drip', 'site-sse', { count: 400, interval: 5 });
    const started = Date.now();
    const events = await collect(logUrl(op.id), viewer, isEnd);
    const seconds = (Date.now() - started) / 1000;
    const lineEvents = events.filter((e) => e.event === 'lines');
    assert.deepEqual(
      linesOf(events).map((l) => l.seq),
      range(1, (await stack.lines(op.id)).length),
      'no line dropped',
    );
    assert.ok(lineEvents.length < 400 / 3, `${lineEvents.length} events for 400 lines`);
    assert.ok(
      lineEvents.length >= 10,
      `${lineEvents.length} events: the lines came as they were printed`,
    );
    assert.ok(
      events.length <= Math.ceil(seconds * 20) + 5,
      `${events.length} events in ${seconds.toFixed(1)} s`,
    );
    assert.equal(endOf(events)?.complete, true);
  });

  it('sends a comment while nothing happens, and a failed operation ends as failed', async () => {
    const sleeper = await stack.createOperation('test.sleep', 'site-sse-quiet', { seconds: 2 });
    const response = await fetch(logUrl(sleeper.id), {
      headers: { authorization: `Bearer ${viewer}` },
      signal: AbortSignal.timeout(20_000),
    });
    const text = await response.text();
    assert.match(text, /^: keep-alive$/m, 'a comment every API_SSE_HEARTBEAT_MS');
    assert.match(text, /event: end\ndata: \{"status":"succeeded"/);

    const failing = await stack.createOperation('test.fail', 'site-sse-fail');
    const events = await collect(logUrl(failing.id), viewer, isEnd);
    const end = endOf(events);
    assert.equal(end?.status, 'failed');
    assert.equal(end?.complete, true);
    assert.ok(!linesOf(events).some((l) => l.text === 'third-ran'));
    assert.deepEqual(
      statusesOf(events)
        .at(-1)
        ?.tasks.map((t) => t.status),
      ['succeeded', 'failed', 'cancelled'],
    );
  });

  it('answers 401 without a token, 404 for an unknown operation or one outside the scope, 400 for a bad Last-Event-ID', async () => {
    const op = await stack.createOperation('test.lines', 'site-sse', { count: 1 });
    const get = (id: string, token: string | null, headers: Record<string, string> = {}) =>
      stack.request('GET', `/operations/${id}/log/stream`, undefined, { token, headers });
    assert.equal((await get(op.id, null)).status, 401);
    assert.equal(
      (await stack.request('GET', '/operations/stream', undefined, { token: null })).status,
      401,
    );
    const unknown = await get('00000000-0000-4000-8000-000000000000', viewer);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /operation 00000000-0000-4000-8000-000000000000 not found/);
    const elsewhere = await stack.createToken('sse-elsewhere', 'viewer', ['--targets', 'other-*']);
    const outside = await get(op.id, elsewhere);
    assert.equal(outside.status, 404);
    assert.equal(outside.body.message, `operation ${op.id} not found`);
    assert.equal((await get(op.id, viewer, { 'last-event-id': 'x1' })).status, 400);
    assert.equal((await get('not-a-uuid', viewer)).status, 400);
  });

  it('streams the status changes of all operations, filtered as the list', async () => {
    const seen: { id: string; type: string; status: string }[] = [];
    let echoId = '';
    const collecting = collect(
      `${stack.apiUrl}/operations/stream?type=test.echo`,
      viewer,
      (event) => {
        if (event.event !== 'status') return false;
        const { operations } = JSON.parse(event.data) as {
          operations: { id: string; type: string; status: string }[];
        };
        seen.push(...operations);
        return operations.some((o) => o.id === echoId && o.status === 'succeeded');
      },
    );
    await new Promise((r) => setTimeout(r, 300)); // the stream is open
    const other = await stack.createOperation('test.lines', 'site-sse-dash', { count: 3 });
    echoId = (await stack.createOperation('test.echo', 'site-sse-dash', { message: 'hi' })).id;
    await collecting;
    assert.ok(seen.length > 0);
    assert.ok(
      seen.every((o) => o.type === 'test.echo'),
      'only what the filter takes',
    );
    assert.ok(!seen.some((o) => o.id === other.id));
    const echo = seen.filter((o) => o.id === echoId).map((o) => o.status);
    assert.equal(echo.at(-1), 'succeeded');
    assert.ok(echo.includes('running') || echo.length >= 2, `statuses seen: ${echo.join(', ')}`);
  });

  it('the operations stream starts with the newest operations the filters take', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await stack.createOperation('test.echo', 'site-sse-initial', { message: 'i' })).id);
    }
    for (const id of ids) await stack.waitForEnd(id);
    const [first] = await collect(
      `${stack.apiUrl}/operations/stream?target=site-sse-initial&limit=2`,
      viewer,
      () => true,
    );
    const initial = JSON.parse(first.data) as {
      initial?: boolean;
      operations: { id: string; status: string }[];
    };
    assert.equal(first.event, 'status');
    assert.equal(initial.initial, true);
    assert.deepEqual(
      initial.operations.map((o) => [o.id, o.status]),
      [
        [ids[2], 'succeeded'],
        [ids[1], 'succeeded'],
      ],
    );
  });

  it("starts again with a new initial event after the api's database listener was cut, holding what changed meanwhile", async () => {
    let created = '';
    let cut = false;
    const events = collect(
      `${stack.apiUrl}/operations/stream?target=site-sse-resync`,
      viewer,
      (event, all) => {
        const data = JSON.parse(event.data) as { initial?: boolean; operations: { id: string }[] };
        if (all.length === 1) {
          cut = true; // the first event came: the stream is open
          return false;
        }
        return data.initial === true && data.operations.some((o) => o.id === created);
      },
    );
    while (!cut) await new Promise((r) => setTimeout(r, 20));
    const [{ killed }] = await stack.query<{ killed: boolean }>(
      `SELECT bool_or(pg_terminate_backend(pid)) AS killed FROM pg_stat_activity
        WHERE application_name = 'aegir-api-listen' AND datname = current_database()`,
    );
    assert.equal(killed, true, 'the api had its LISTEN connection');
    // while nobody listens: its NOTIFYs are lost, the new initial event has it
    created = (await stack.createOperation('test.echo', 'site-sse-resync', { message: 'r' })).id;
    const all = await events;
    const initials = all.filter((e) => (JSON.parse(e.data) as { initial?: boolean }).initial);
    assert.equal(initials.length, 2);
  });

  it('ends the streams opened with a token once it is revoked, and the token gets 401 after', async () => {
    const token = await stack.createToken('sse-revoked', 'viewer');
    const sleeper = await stack.createOperation('test.sleep', 'site-sse-revoke', { seconds: 60 });
    const open = (path: string) =>
      fetch(`${stack.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const streams = await Promise.all([
      open(`/operations/${sleeper.id}/log/stream`),
      open('/operations/stream'),
    ]);
    for (const response of streams) assert.equal(response.status, 200);
    const bodies = streams.map((response) => response.text());
    await new Promise((r) => setTimeout(r, 300));
    const revokedAt = Date.now();
    const revoked = await stack.aegir(['token:revoke', 'sse-revoked']);
    assert.equal(revoked.code, 0, revoked.stderr);
    for (const text of await Promise.all(bodies)) {
      assert.match(text, /: the token was revoked\n\n$/);
      assert.doesNotMatch(text, /event: end/);
    }
    assert.ok(Date.now() - revokedAt < 5000, 'ended at once, not at a later request');
    assert.equal((await open('/operations/stream')).status, 401);
    await stack.request('POST', `/operations/${sleeper.id}/cancel`, {});
  });

  it('aegir op:log -f follows over the api, with the final status as its exit code', async () => {
    // a database the CLI cannot reach: it goes through the api alone
    const viaApi = {
      AEGIR_API_URL: stack.apiUrl,
      AEGIR_API_TOKEN: viewer,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    };
    const ok = await stack.createOperation('test.lines', 'site-sse-cli', { count: 3 });
    const followed = await stack.aegir(['op:log', ok.id, '-f'], viaApi);
    assert.equal(followed.code, 0, followed.stderr);
    const printed = (await stack.lines(ok.id)).map((l) => l.line);
    assert.deepEqual(
      printed.filter((l) => l.startsWith('line ')),
      ['line 1', 'line 2', 'line 3'],
    );
    assert.equal(followed.stdout, `${printed.join('\n')}\n-- succeeded\n`);

    const failing = await stack.createOperation('test.fail', 'site-sse-cli');
    const failed = await stack.aegir(['op:log', failing.id, '--follow', '--after', '2'], viaApi);
    assert.equal(failed.code, 2, failed.stderr);
    const failedLines = (await stack.lines(failing.id)).filter((l) => l.seq > 2);
    const onStdout = failedLines.filter((l) => l.stream !== 'stderr').map((l) => `${l.line}\n`);
    assert.equal(failed.stdout, `${onStdout.join('')}-- failed\n`);
    assert.match(failed.stdout, /second-out\n/);
    assert.equal(failed.stderr, 'second-err\n');

    const sleeper = await stack.createOperation('test.sleep', 'site-sse-cli', { seconds: 30 });
    const following = stack.aegir(['op:log', sleeper.id, '-f'], viaApi);
    await stack.waitForStatus(sleeper.id, ['running']);
    assert.equal((await stack.request('POST', `/operations/${sleeper.id}/cancel`, {})).status, 200);
    const cancelled = await following;
    assert.equal(cancelled.code, 4, cancelled.stderr);
    assert.match(cancelled.stdout, /-- cancelled\n$/);

    const missing = await stack.aegir(
      ['op:log', '00000000-0000-4000-8000-000000000000', '-f'],
      viaApi,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /operation 00000000-0000-4000-8000-000000000000 not found/);
  });

  it('aegir op:create --follow creates, then follows its log to the end', async () => {
    // with AEGIR_API_URL set the create goes through the api too: an operator's token
    const operator = await stack.createToken('sse-operator', 'operator');
    const result = await stack.aegir(
      ['op:create', 'test.lines', '--target', 'site-sse-cli', '--param', 'count=2', '--follow'],
      { AEGIR_API_URL: stack.apiUrl, AEGIR_API_TOKEN: operator },
    );
    assert.equal(result.code, 0, result.stderr);
    // the status it was created in by the time the answer came: queued, or already further
    const [, id, status] = /^operation ([0-9a-f-]{36}) (\w+)\n/.exec(result.stdout) ?? [];
    assert.ok(id, result.stdout);
    const printed = (await stack.lines(id)).map((l) => `${l.line}\n`).join('');
    assert.match(printed, /line 1\nline 2\n/);
    assert.equal(result.stdout, `operation ${id} ${status}\n${printed}-- succeeded\n`);
  });

  it('ends its open streams when the api stops, and exits 0', async () => {
    const sleeper = await stack.createOperation('test.sleep', 'site-sse-stop', { seconds: 5 });
    const response = await fetch(logUrl(sleeper.id), {
      headers: { authorization: `Bearer ${viewer}` },
    });
    assert.equal(response.status, 200);
    const reading = response.text().catch(() => '');
    const code = await stack.app('api').stop();
    assert.equal(code, 0);
    await reading;
    await stack.startApp('api');
  });
});
