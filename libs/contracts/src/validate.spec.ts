import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  decodeControl,
  decodeDispatch,
  decodeEvent,
  encodeMessage,
  MAX_LINE_LENGTH,
} from './validate';

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

  describe('lines (the compact log form)', () => {
    const lines = {
      v: 1,
      kind: 'lines',
      operationId,
      taskId: randomUUID(),
      seq: 7,
      at,
      text: ['one', 'two\u00e9', ''],
      ms: [0, 0, 12],
      streams: 'oes',
      continues: [0],
    };
    const refused = (change: object) => {
      const decoded = decodeEvent(encodeMessage({ ...lines, ...change }));
      assert.equal(decoded.ok, false, JSON.stringify(change));
      return decoded.ok ? '' : decoded.reason;
    };

    it('accepts a well-formed one', () => {
      assert.deepEqual(decodeEvent(encodeMessage(lines)), { ok: true, message: lines });
      const plain: Record<string, unknown> = { ...lines, taskId: null };
      delete plain.continues;
      assert.deepEqual(decodeEvent(encodeMessage(plain)).ok, true);
    });

    it('refuses columns that do not line up', () => {
      assert.equal(refused({ ms: [0, 1] }), 'invalid lines message: /ms has 2 items for 3 lines');
      assert.equal(
        refused({ streams: 'oo' }),
        'invalid lines message: /streams has 2 codes for 3 lines',
      );
      assert.equal(
        refused({ text: ['one', 'x'.repeat(MAX_LINE_LENGTH + 1), ''] }),
        'invalid lines message: /text/1 is longer than 65536 characters',
      );
      assert.equal(
        refused({ continues: [3] }),
        'invalid lines message: /continues names a line past the last (2)',
      );
    });

    it('refuses an unknown stream code, a negative time, a seq below 1, no lines', () => {
      assert.match(refused({ streams: 'oxs' }), /^invalid lines message: \/streams must match/);
      assert.match(refused({ ms: [0, -1, 2] }), /^invalid lines message: \/ms\/1 must be >= 0/);
      assert.match(refused({ seq: 0 }), /^invalid lines message: \/seq must be >= 1/);
      assert.match(
        refused({ text: [], ms: [], streams: '' }),
        /^invalid lines message: \/text must NOT have fewer than 1 items/,
      );
    });
  });

  describe('events (a group of one operation)', () => {
    const status = {
      v: 1,
      kind: 'status',
      operationId,
      taskId: null,
      status: 'running',
      at,
      dispatcherId: 'd1',
    };
    const lines = {
      v: 1,
      kind: 'lines',
      operationId,
      taskId: null,
      seq: 1,
      at,
      text: ['x'],
      ms: [0],
      streams: 'o',
    };
    const group = (events: object[]) => ({ v: 1, kind: 'events', operationId, events });

    it('accepts lines and statuses of its operation', () => {
      const message = group([status, lines, { ...status, status: 'succeeded', lineCount: 1 }]);
      assert.deepEqual(decodeEvent(encodeMessage(message)), { ok: true, message });
    });

    it('checks each event as its own kind, and names it', () => {
      assert.deepEqual(decodeEvent(encodeMessage(group([status, { ...lines, ms: [] }]))), {
        ok: false,
        reason:
          'invalid events message: /events/1: invalid lines message: /ms has 0 items for 1 lines',
      });
      assert.deepEqual(decodeEvent(encodeMessage(group([{ ...status, status: 'done' }]))), {
        ok: false,
        reason:
          'invalid events message: /events/0: invalid status message: /status must be equal to one of the allowed values',
      });
    });

    it('refuses an event of another operation, a heartbeat, a nested group, an empty group', () => {
      const other = randomUUID();
      const refused = (events: object[]) => {
        const decoded = decodeEvent(encodeMessage(group(events)));
        return decoded.ok ? '' : decoded.reason;
      };
      assert.equal(
        refused([{ ...status, operationId: other }]),
        `invalid events message: /events/0 is of operation ${other}, not ${operationId}`,
      );
      const heartbeat = {
        v: 1,
        kind: 'heartbeat',
        dispatcherId: 'd',
        pool: 'p',
        operations: [],
        at,
      };
      assert.match(
        refused([{ ...heartbeat, operationId }]),
        /\/events\/0\/kind must be equal to one of the allowed/,
      );
      assert.match(refused([group([status])]), /\/events\/0\/kind must be equal to one of/);
      assert.match(refused([]), /\/events must NOT have fewer than 1 items/);
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
    const beat = {
      v: 1,
      kind: 'heartbeat',
      dispatcherId: 'd1',
      pool: 'default',
      operations: [operationId],
      at,
    };
    assert.equal(
      decodeEvent(encodeMessage(beat)).ok,
      true,
      'without concurrency (an older dispatcher)',
    );
    assert.equal(decodeEvent(encodeMessage({ ...beat, concurrency: 4 })).ok, true);
    for (const concurrency of [0, 1.5, '4', 10_001]) {
      assert.equal(
        decodeEvent(encodeMessage({ ...beat, concurrency })).ok,
        false,
        `concurrency ${String(concurrency)}`,
      );
    }
  });
});
