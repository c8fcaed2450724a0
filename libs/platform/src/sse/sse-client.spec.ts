import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SseHttpError, sseEvents } from './sse-client';

describe('sseEvents', () => {
  let server: Server;
  let base = '';
  const lastIds: (string | undefined)[] = [];

  before(async () => {
    server = createServer((request, response) => {
      if (request.url === '/missing') {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end('{"message":"operation x not found"}');
        return;
      }
      const last = request.headers['last-event-id'] as string | undefined;
      lastIds.push(last);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      if (last === undefined) {
        // two events, the second split across writes, then the connection breaks
        response.write('retry: 10\n\n: hello\n\nid: 1\nevent: lines\ndata: {"n":1}\n\n');
        response.write('id: 2\nevent: li');
        response.end('nes\ndata: {"n":2}\n\n');
      } else {
        response.end(`id: 3\nevent: end\ndata: {"after":${last}}\n\n`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reconnects after the stream ends, sending the last id as Last-Event-ID', async () => {
    const reconnects: (string | undefined)[] = [];
    const seen: string[] = [];
    for await (const event of sseEvents({
      url: `${base}/stream`,
      onReconnect: (_attempt, last) => reconnects.push(last),
    })) {
      seen.push(`${event.id} ${event.event} ${event.data}`);
      if (event.event === 'end') break;
    }
    assert.deepEqual(seen, ['1 lines {"n":1}', '2 lines {"n":2}', '3 end {"after":2}']);
    assert.deepEqual(lastIds, [undefined, '2']);
    assert.deepEqual(reconnects, ['2']);
  });

  it('throws a 404 at once, with the body', async () => {
    await assert.rejects(
      async () => {
        for await (const event of sseEvents({ url: `${base}/missing` })) void event;
      },
      (error: unknown) =>
        error instanceof SseHttpError && error.status === 404 && /not found/.test(error.body),
    );
  });

  it('gives up after maxRetries connects that delivered nothing', async () => {
    await assert.rejects(async () => {
      for await (const event of sseEvents({
        url: 'http://127.0.0.1:1/none',
        retryMs: 1,
        maxRetries: 2,
      }))
        void event;
    });
  });
});
