import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Exchanges, MAX_LINE_LENGTH, Queues } from '@app/contracts';

/** What exists on the stack before the cases run. */
export interface AmqpFixtures {
  /** A `test.echo` operation that succeeded, its one task, and its line count. */
  finished: { id: string; taskId: string; lines: number };
  /** A `test.stubborn` operation running on the stack's dispatcher, and its task. */
  running: { id: string; taskId: string };
  dispatcherId: string;
}

type Body = Buffer | string | Record<string, unknown>;

export interface AmqpCase {
  name: string;
  exchange: string;
  routingKey: string;
  body: Body | ((fixtures: AmqpFixtures) => Body);
  /** AMQP properties over `content-type: application/json` and a message id of its own. */
  properties?: { contentType?: string; contentEncoding?: string; type?: string };
  expect: {
    /** The message is dead-lettered with this `x-aegir-reason`, and no row changes. */
    reason: RegExp;
    /** The queue it was taken from (`x-aegir-queue`). */
    queue: RegExp;
  };
}

const at = '2026-01-01T00:00:00.000Z';
const ANY_ID = '6f1d3c2b-5a49-4e8d-9c7b-0a1b2c3d4e5f';
const EVENTS_QUEUE = new RegExp(`^${Queues.events.replace('.', '\\.')}$`);
const CLAIMS_QUEUE = /^aegir\.claims$/;
const DISPATCH_QUEUE = /^aegir\.dispatch\.default$/;
const CONTROL_QUEUE = /^aegir\.control\./;

/** A valid `lines` message of an unknown operation, changed by `more`. */
const lines = (more: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  kind: 'lines',
  operationId: ANY_ID,
  taskId: null,
  seq: 1,
  at,
  text: ['hello'],
  ms: [0],
  streams: 'o',
  ...more,
});
const status = (more: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  kind: 'status',
  operationId: ANY_ID,
  taskId: null,
  status: 'running',
  at,
  dispatcherId: 'forger',
  ...more,
});
const heartbeat = (more: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  kind: 'heartbeat',
  dispatcherId: 'forger',
  pool: 'default',
  operations: [],
  at,
  ...more,
});
const claim = (more: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  kind: 'claim',
  operationId: ANY_ID,
  dispatcherId: 'forger',
  replyTo: 'aegir.control.forger',
  at,
  ...more,
});
const dispatch = (more: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  kind: 'dispatch',
  operationId: ANY_ID,
  type: 'test.echo',
  target: 'web1',
  params: { message: 'forged' },
  tasks: [{ id: randomUUID(), name: 'echo' }],
  sentAt: at,
  ...more,
});
const cancel = (more: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  kind: 'cancel',
  operationId: ANY_ID,
  reason: 'forged',
  sentAt: at,
  ...more,
});

const toEvents = (
  name: string,
  routingKey: string,
  body: AmqpCase['body'],
  reason: RegExp,
  properties?: AmqpCase['properties'],
): AmqpCase => ({
  name,
  exchange: Exchanges.events,
  routingKey,
  body,
  properties,
  expect: { reason, queue: EVENTS_QUEUE },
});
const toClaims = (name: string, body: AmqpCase['body'], reason: RegExp): AmqpCase => ({
  name,
  exchange: Exchanges.events,
  routingKey: 'claim',
  body,
  expect: { reason, queue: CLAIMS_QUEUE },
});
/**
 * What reaches a dispatcher is checked for the relay's signature before it is parsed: a hostile
 * message without the relay's key is refused for that, whatever else is wrong with it (the
 * checks behind the signature have libs/contracts' signing and validate specs).
 */
const UNSIGNED = /^unsigned: no x-aegir-signature header$/;
const toDispatch = (name: string, body: AmqpCase['body']): AmqpCase => ({
  name,
  exchange: Exchanges.dispatch,
  routingKey: 'default',
  body,
  expect: { reason: UNSIGNED, queue: DISPATCH_QUEUE },
});
const toControl = (name: string, body: AmqpCase['body']): AmqpCase => ({
  name,
  exchange: Exchanges.control,
  routingKey: '',
  body,
  expect: { reason: UNSIGNED, queue: CONTROL_QUEUE },
});

const NOT_JSON = /^body is not valid JSON$/;
const NOT_OBJECT = /^body is not a JSON object$/;
/** Issue 9, item 4: an operation's events only from its pool's user holding the claim. */
const NOT_ITS_SENDER = /user|claim|sender/i;

export const amqpCases: AmqpCase[] = [
  toEvents('an events body that is not JSON', 'lines', '{"v": 1, "kind": ', NOT_JSON),
  toEvents('an empty events body', 'lines', '', NOT_JSON),
  toEvents(
    'an events body of raw bytes with NUL',
    'lines',
    Buffer.from([0, 1, 2, 0xff, 0xfe, 0]),
    NOT_JSON,
  ),
  toEvents(
    'an events body with a byte-order mark',
    'lines',
    `\ufeff${JSON.stringify(lines())}`,
    NOT_JSON,
  ),
  toEvents('an events body that is a JSON array', 'lines', '[1, 2, 3]', NOT_OBJECT),
  toEvents('an events body that is a JSON string', 'lines', '"lines"', NOT_OBJECT),
  toEvents('an events body that is null', 'lines', 'null', NOT_OBJECT),
  toEvents(
    'a gzip-compressed body with content-encoding gzip',
    'lines',
    gzipSync(JSON.stringify(lines())),
    NOT_JSON,
    { contentEncoding: 'gzip' },
  ),
  toEvents(
    'a UTF-16 body with content-encoding utf-16',
    'lines',
    Buffer.from(JSON.stringify(lines()), 'utf16le'),
    NOT_JSON,
    { contentEncoding: 'utf-16le' },
  ),
  toEvents('lines of version 2', 'lines', lines({ v: 2 }), /^unsupported message version 2$/),
  toEvents('lines of version "1"', 'lines', lines({ v: '1' }), /^unsupported message version "1"$/),
  toEvents('lines of version 0', 'lines', lines({ v: 0 }), /^unsupported message version 0$/),
  toEvents(
    'lines without a version',
    'lines',
    lines({ v: undefined }),
    /^unsupported message version null$/,
  ),
  toEvents(
    'a dispatch on the events queue',
    'lines',
    dispatch(),
    /^message kind "dispatch" is not accepted here/,
  ),
  toEvents(
    'a claim-result on the events queue',
    'status',
    { v: 1, kind: 'claim-result', operationId: ANY_ID, granted: true },
    /^message kind "claim-result" is not accepted here/,
  ),
  toEvents(
    'an event without a kind',
    'lines',
    lines({ kind: undefined }),
    /^message kind null is not accepted here/,
  ),
  toEvents(
    'an event of kind __proto__',
    'lines',
    lines({ kind: '__proto__' }),
    /^message kind "__proto__" is not accepted here/,
  ),
  toEvents(
    'an event of kind constructor',
    'lines',
    lines({ kind: 'constructor' }),
    /^message kind "constructor" is not accepted here/,
  ),
  toEvents(
    'lines without an operationId',
    'lines',
    lines({ operationId: undefined }),
    /^invalid lines message: \(message\) must have required property 'operationId'$/,
  ),
  toEvents(
    'lines with a bad operationId',
    'lines',
    lines({ operationId: '../../etc/passwd' }),
    /^invalid lines message: \/operationId must match format "uuid"$/,
  ),
  toEvents(
    'lines with an unknown field',
    'lines',
    lines({ __proto__x: 1 }),
    /^invalid lines message: \(message\) must NOT have additional properties '__proto__x'$/,
  ),
  toEvents(
    'lines with a __proto__ field',
    'lines',
    `{${JSON.stringify(lines()).slice(1, -1)},"__proto__":{"polluted":true}}`,
    /^invalid lines message: \(message\) must NOT have additional properties '__proto__'$/,
  ),
  toEvents(
    'lines of seq 0',
    'lines',
    lines({ seq: 0 }),
    /^invalid lines message: \/seq must be >= 1$/,
  ),
  toEvents(
    'lines of seq -5',
    'lines',
    lines({ seq: -5 }),
    /^invalid lines message: \/seq must be >= 1$/,
  ),
  toEvents(
    'lines of seq 1.5',
    'lines',
    lines({ seq: 1.5 }),
    /^invalid lines message: \/seq must be integer$/,
  ),
  toEvents(
    'lines of seq 2^60',
    'lines',
    lines({ seq: 2 ** 60 }),
    /^invalid lines message: \/seq must be <= 9007199254740991$/,
  ),
  toEvents(
    'lines of seq "1"',
    'lines',
    lines({ seq: '1' }),
    /^invalid lines message: \/seq must be integer$/,
  ),
  toEvents(
    'lines with 10 001 lines',
    'lines',
    lines({
      text: new Array(10_001).fill('x'),
      ms: new Array(10_001).fill(0),
      streams: 'o'.repeat(10_001),
    }),
    /^invalid lines message: \/text must NOT have more than 10000 items$/,
  ),
  toEvents(
    'lines with no line',
    'lines',
    lines({ text: [], ms: [], streams: '' }),
    /^invalid lines message: \/text must NOT have fewer than 1 items$/,
  ),
  toEvents(
    'lines whose ms column is short',
    'lines',
    lines({ text: ['a', 'b'], streams: 'oo' }),
    /^invalid lines message: \/ms has 1 items for 2 lines$/,
  ),
  toEvents(
    'lines whose streams column is short',
    'lines',
    lines({ text: ['a', 'b'], ms: [0, 0] }),
    /^invalid lines message: \/streams has 1 codes for 2 lines$/,
  ),
  toEvents(
    'lines with an unknown stream',
    'lines',
    lines({ streams: 'x' }),
    /^invalid lines message: \/streams must match pattern/,
  ),
  toEvents(
    'lines with a number for text',
    'lines',
    lines({ text: [42] }),
    /^invalid lines message: \/text\/0 must be string$/,
  ),
  toEvents(
    "lines with a line over the wire's limit",
    'lines',
    lines({ text: ['y'.repeat(MAX_LINE_LENGTH + 1)] }),
    new RegExp(`^invalid lines message: /text/0 is longer than ${MAX_LINE_LENGTH} characters$`),
  ),
  toEvents(
    'lines continuing past the last line',
    'lines',
    lines({ continues: [5] }),
    /^invalid lines message: \/continues names a line past the last \(0\)$/,
  ),
  toEvents(
    'lines with ms of a year',
    'lines',
    lines({ ms: [365 * 86_400_000] }),
    /^invalid lines message: \/ms\/0 must be <= 86400000$/,
  ),
  toEvents(
    'lines at a time that is not one',
    'lines',
    lines({ at: '0000-13-45T99:99:99Z' }),
    /^invalid lines message: \/at must match format "date-time"$/,
  ),
  toEvents(
    'lines of an operation that does not exist, from no dispatcher',
    'lines',
    lines(),
    /^refused: sent by broker user \(none\), which is no dispatcher pool's user$/,
  ),

  toEvents(
    'a status that is not one',
    'status',
    status({ status: 'exploded' }),
    /^invalid status message: \/status must be equal to one of the allowed values$/,
  ),
  toEvents(
    'a status with a dispatcherId of 300 characters',
    'status',
    status({ dispatcherId: 'd'.repeat(300) }),
    /^invalid status message: \/dispatcherId must NOT have more than 255 characters$/,
  ),
  toEvents(
    'a status with a reason of 5000 characters',
    'status',
    status({ reason: 'r'.repeat(5000) }),
    /^invalid status message: \/reason must NOT have more than 4096 characters$/,
  ),
  toEvents(
    'a status with a negative lineCount',
    'status',
    status({ lineCount: -1 }),
    /^invalid status message: \/lineCount must be >= 0$/,
  ),
  toEvents(
    'a status with an exitCode of text',
    'status',
    status({ exitCode: '0; rm -rf /' }),
    /^invalid status message: \/exitCode must be integer$/,
  ),
  toEvents(
    'a heartbeat of 10 001 operations',
    'heartbeat',
    heartbeat({ operations: new Array(10_001).fill(ANY_ID) }),
    /^invalid heartbeat message: \/operations must NOT have more than 10000 items$/,
  ),
  toEvents(
    'a heartbeat with a concurrency of 0',
    'heartbeat',
    heartbeat({ concurrency: 0 }),
    /^invalid heartbeat message: \/concurrency must be >= 1$/,
  ),
  toEvents(
    'a heartbeat with a concurrency of text',
    'heartbeat',
    heartbeat({ concurrency: '4; DROP TABLE dispatchers' }),
    /^invalid heartbeat message: \/concurrency must be integer$/,
  ),
  toEvents(
    'a heartbeat without a pool',
    'heartbeat',
    heartbeat({ pool: undefined }),
    /^invalid heartbeat message: \(message\) must have required property 'pool'$/,
  ),
  toEvents(
    "an events group holding another operation's event",
    'events',
    { v: 1, kind: 'events', operationId: randomUUID(), events: [lines()] },
    /^invalid events message: \/events\/0 is of operation /,
  ),
  toEvents(
    'an events group of 1001 events',
    'events',
    {
      v: 1,
      kind: 'events',
      operationId: ANY_ID,
      events: Array.from({ length: 1001 }, (_, i) => lines({ seq: i + 1 })),
    },
    /^invalid events message: \/events must NOT have more than 1000 items$/,
  ),
  toEvents(
    'an events group holding an invalid line',
    'events',
    { v: 1, kind: 'events', operationId: ANY_ID, events: [lines({ seq: 0 })] },
    /^invalid events message: \/events\/0: invalid lines message: \/seq must be >= 1$/,
  ),
  toEvents(
    'an events group holding a heartbeat',
    'events',
    {
      v: 1,
      kind: 'events',
      operationId: ANY_ID,
      events: [{ ...heartbeat(), operationId: ANY_ID }],
    },
    /^invalid events message: \/events\/0\/kind must be equal to one of the allowed values$/,
  ),
  toEvents(
    'a log message with a stdin stream',
    'log',
    {
      v: 1,
      kind: 'log',
      operationId: ANY_ID,
      lines: [{ seq: 1, taskId: null, stream: 'stdin', text: 'x', at }],
    },
    /^invalid log message: \/lines\/0\/stream must be equal to one of the allowed values$/,
  ),

  toClaims('a claim that is not JSON', '<claim/>', NOT_JSON),
  toClaims(
    'a claim without replyTo',
    claim({ replyTo: undefined }),
    /^invalid claim message: \(message\) must have required property 'replyTo'$/,
  ),
  toClaims(
    'a lines message on the claims queue',
    lines(),
    /^message kind "lines" is not accepted here \(expected claim\)$/,
  ),
  toClaims(
    'a claim at a time that is not one',
    claim({ at: 'yesterday' }),
    /^invalid claim message: \/at must match format "date-time"$/,
  ),
  toClaims('a claim of version 2', claim({ v: 2 }), /^unsupported message version 2$/),

  toDispatch('a dispatch that is not JSON', 'run everything'),
  toDispatch('a dispatch of version 99', dispatch({ v: 99 })),
  toDispatch('a dispatch with no task', dispatch({ tasks: [] })),
  toDispatch(
    'a dispatch of 1001 tasks',
    dispatch({ tasks: Array.from({ length: 1001 }, () => ({ id: randomUUID(), name: 'echo' })) }),
  ),
  toDispatch('a dispatch with params of an array', dispatch({ params: ['x'] })),
  toDispatch('a dispatch with a target of 300 characters', dispatch({ target: 't'.repeat(300) })),
  toDispatch('a status on the dispatch queue', status()),

  toControl('a control message that is not JSON', '\u0000\u0000'),
  toControl('a cancel with a reason of 5000 characters', cancel({ reason: 'r'.repeat(5000) })),
  toControl('a claim-result granted "yes"', {
    v: 1,
    kind: 'claim-result',
    operationId: ANY_ID,
    granted: 'yes',
  }),
  toControl('a dispatch on the control queue', dispatch()),
  toControl('a cancel of version 2', cancel({ v: 2 })),

  // Well-formed, but not from whom it must come: what issue 9's items 4 and 5 close.
  toEvents(
    'forged lines of a finished operation',
    'lines',
    (f) =>
      lines({
        operationId: f.finished.id,
        taskId: f.finished.taskId,
        seq: f.finished.lines + 1,
        text: ['forged line'],
      }),
    NOT_ITS_SENDER,
  ),
  toDispatch('an unsigned dispatch of a finished operation with another target', (f) =>
    dispatch({
      operationId: f.finished.id,
      target: 'elsewhere',
      tasks: [{ id: f.finished.taskId, name: 'echo' }],
    }),
  ),
  toDispatch(
    'an unsigned dispatch of path-traversal params',
    dispatch({
      type: 'test.echo',
      target: '../../etc',
      params: { message: '$(id)', __proto__x: 1 },
    }),
  ),
  toControl('an unsigned claim-result granting an operation never claimed', {
    v: 1,
    kind: 'claim-result',
    operationId: randomUUID(),
    granted: true,
    reason: null,
  }),
  toControl('an unsigned cancel of the running operation', (f) =>
    cancel({ operationId: f.running.id }),
  ),
  toEvents(
    'a forged succeeded status of the running operation',
    'status',
    (f) =>
      status({
        operationId: f.running.id,
        status: 'succeeded',
        dispatcherId: f.dispatcherId,
        lineCount: 0,
      }),
    NOT_ITS_SENDER,
  ),
];
