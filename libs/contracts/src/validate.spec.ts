import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeControl, decodeDispatch, decodeEvent, encodeMessage } from './validate';

const at = new Date().toISOString();
const operationId = randomUUID();

describe('contract validation', () => {
  it('accepts a well-formed dispatch message', () => {
    const message = {
      v: 1,
      kind: 'dispatch',
      operationId,
      type: 'demo.hello',
      target: 'localhost',
      params: { greeting: 'hi' },
      tasks: [{ id: randomUUID(), name: 'hello' }],
      sentAt: at,
    };
    const decoded = decodeDispatch(encodeMessage(message));
    assert.deepEqual(decoded, { ok: true, message });
  });

  it('refuses a body that is not JSON', () => {
    assert.deepEqual(decodeEvent(Buffer.from('{nope')), {
      ok: false,
      reason: 'body is not valid JSON',
    });
  });

  it('refuses an unknown version', () => {
    const decoded = decodeEvent(encodeMessage({ v: 2, kind: 'log' }));
    assert.deepEqual(decoded, { ok: false, reason: 'unsupported message version 2' });
  });

  it('refuses a kind that does not belong on the queue', () => {
    const decoded = decodeControl(encodeMessage({ v: 1, kind: 'log', operationId, lines: [] }));
    assert.equal(decoded.ok, false);
    assert.match(!decoded.ok ? decoded.reason : '', /kind "log" is not accepted here/);
  });

  it('names the field at fault', () => {
    const decoded = decodeEvent(
      encodeMessage({
        v: 1,
        kind: 'log',
        operationId,
        lines: [{ seq: 0, taskId: null, stream: 'stdout', text: 'x', at }],
      }),
    );
    assert.deepEqual(decoded, {
      ok: false,
      reason: 'invalid log message: /lines/0/seq must be >= 1',
    });
  });

  it('refuses unknown fields', () => {
    const decoded = decodeEvent(
      encodeMessage({
        v: 1,
        kind: 'heartbeat',
        dispatcherId: 'd1',
        pool: 'default',
        operations: [],
        at,
        extra: true,
      }),
    );
    assert.deepEqual(decoded, {
      ok: false,
      reason: "invalid heartbeat message: (message) must NOT have additional properties 'extra'",
    });
  });

  it('accepts status and heartbeat events', () => {
    const status = {
      v: 1,
      kind: 'status',
      operationId,
      taskId: null,
      status: 'succeeded',
      at,
      dispatcherId: 'd1',
      exitCode: 0,
      lineCount: 12,
    };
    assert.equal(decodeEvent(encodeMessage(status)).ok, true);
    assert.equal(decodeEvent(encodeMessage({ ...status, status: 'finished' })).ok, false);
  });
});
