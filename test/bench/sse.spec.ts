import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameScanner } from './sse';

const STREAM = [
  'retry: 1000',
  '',
  'event: status',
  'data: {"status":"running"}',
  '',
  ': keep-alive',
  '',
  'id: 3',
  'event: lines',
  'data: {"lines":[{"seq":1,"text":"id: 99"},{"seq":2,"text":"event: end"},{"seq":3}]}',
  '',
  'id: 4',
  'event: lines',
  'data: {"lines":[{"seq":4}]}',
  '',
  'event: end',
  'data: {"status":"succeeded"}',
  '',
  '',
].join('\n');

function scanned(chunks: string[]): string[] {
  const events: string[] = [];
  const scan = frameScanner((event, id) => events.push(`${event}:${id ?? ''}`));
  for (const chunk of chunks) scan(chunk);
  return events.filter((e) => !e.startsWith('message:'));
}

void describe('the bench’s SSE frame scanner', () => {
  void it('finds each event and id, whatever a data line holds', () => {
    assert.deepEqual(scanned([STREAM]), ['status:', 'lines:3', 'lines:4', 'end:']);
  });

  void it('finds the same however the stream is cut into chunks', () => {
    const whole = scanned([STREAM]);
    for (let size = 1; size <= 17; size++) {
      const chunks: string[] = [];
      for (let at = 0; at < STREAM.length; at += size) chunks.push(STREAM.slice(at, at + size));
      assert.deepEqual(scanned(chunks), whole, `chunks of ${size}`);
    }
  });
});
