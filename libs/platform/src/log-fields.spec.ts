import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import type { Logger } from '@nestjs/common';
import { FieldLogger, logEntry } from './log-fields';
import { noteRequestLogFields, notedRequestLogFields, requestIdOf } from './request-log';

describe('log fields', () => {
  it('writes the fields that are set beside the message, and nothing else', () => {
    assert.deepEqual(logEntry('operation x running', { operationId: 'x', task: undefined }), {
      msg: 'operation x running',
      operationId: 'x',
    });
    const sneaky = { operationId: 'x', params: { password: 'p' } } as { operationId: string };
    assert.deepEqual(logEntry('m', sneaky), { msg: 'm', operationId: 'x' });
  });

  it("a field logger adds its fields to every line, a line's own on top", () => {
    const written: [string, unknown][] = [];
    const logger = Object.fromEntries(
      ['log', 'debug', 'warn', 'error'].map((level) => [
        level,
        (entry: unknown) => written.push([level, entry]),
      ]),
    ) as unknown as Logger;
    const operation = new FieldLogger(logger, { operationId: 'op-1', dispatcherId: 'd-1' });
    operation.log('running');
    operation.with({ task: 'hello' }).warn('slow');
    operation.error('failed', { task: 'second' });
    operation.debug('done');
    assert.deepEqual(written, [
      ['log', { msg: 'running', operationId: 'op-1', dispatcherId: 'd-1' }],
      ['warn', { msg: 'slow', operationId: 'op-1', task: 'hello', dispatcherId: 'd-1' }],
      ['error', { msg: 'failed', operationId: 'op-1', task: 'second', dispatcherId: 'd-1' }],
      ['debug', { msg: 'done', operationId: 'op-1', dispatcherId: 'd-1' }],
    ]);
  });
});

describe('request ids', () => {
  function requestWith(header?: string | string[]) {
    const headers: Record<string, string> = {};
    const request = { headers: header === undefined ? {} : { 'x-request-id': header } };
    const response = {
      headersSent: false,
      setHeader: (name: string, value: string) => (headers[name] = value),
    };
    const id = requestIdOf(request as IncomingMessage, response as unknown as ServerResponse);
    return { id, echoed: headers['x-request-id'] };
  }

  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it("keeps a caller's sane id and echoes it", () => {
    for (const given of [
      'abc-123',
      '0f0c2b1e-8d3a-4a7e-9b51-3f1c2d4e5a6b',
      'Root=1-5e1b/x+y:z.@',
      'x'.repeat(128),
    ]) {
      assert.deepEqual(requestWith(given), { id: given, echoed: given });
    }
  });

  it('makes a new one for none, a list, or one with anything ids are not made of', () => {
    const refused = [
      undefined,
      '',
      'two words',
      'x'.repeat(129),
      'a"b',
      'a\\b',
      'new\nline',
      ['a', 'b'],
    ];
    const ids = new Set<string>();
    for (const given of refused) {
      const { id, echoed } = requestWith(given);
      assert.match(id, UUID, JSON.stringify(given));
      assert.equal(echoed, id);
      ids.add(id);
    }
    assert.equal(ids.size, refused.length, 'each one new');
  });

  it('keeps what a request was found to be about, for its last line', () => {
    const request = {} as IncomingMessage;
    assert.deepEqual(notedRequestLogFields(request), {});
    noteRequestLogFields(request, { operationId: 'op-1' });
    noteRequestLogFields(request, { task: 't' });
    assert.deepEqual(notedRequestLogFields(request), { operationId: 'op-1', task: 't' });
  });
});
