import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import {
  CONTRACT_VERSION,
  EVENT_KINDS,
  type ClaimMessage,
  type ControlMessage,
  type DispatchMessage,
  type EventMessage,
  type EventsMessage,
  type LinesMessage,
  type SignedControlMessage,
  type SignedDispatchMessage,
} from './messages';
import { OPERATION_STATUSES } from './status';

/** The outcome of reading a message off the broker: the message, or why it is refused. */
export type Decoded<T> = { ok: true; message: T } | { ok: false; reason: string };

/**
 * The longest line text on the wire, in UTF-16 code units: the dispatcher splits longer output
 * lines into pieces of at most this (DISPATCHER_MAX_LINE_LENGTH may only lower it).
 */
export const MAX_LINE_LENGTH = 65536;
const MAX_LINES_PER_MESSAGE = 10_000;

const uuid = { type: 'string', format: 'uuid' } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;
const name = { type: 'string', minLength: 1, maxLength: 255 } as const;
const header = (kind: string) => ({
  v: { const: CONTRACT_VERSION },
  kind: { const: kind },
});

const dispatchSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'operationId', 'type', 'target', 'params', 'tasks', 'sentAt'],
  properties: {
    ...header('dispatch'),
    operationId: uuid,
    type: name,
    target: name,
    params: { type: 'object' },
    tasks: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name'],
        properties: { id: uuid, name },
      },
    },
    sentAt: timestamp,
  },
};

const cancelSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'operationId', 'reason', 'sentAt'],
  properties: {
    ...header('cancel'),
    operationId: uuid,
    reason: { type: 'string', maxLength: 4096 },
    sentAt: timestamp,
  },
};

const logSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'operationId', 'lines'],
  properties: {
    ...header('log'),
    operationId: uuid,
    lines: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_LINES_PER_MESSAGE,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['seq', 'taskId', 'stream', 'text', 'at'],
        properties: {
          seq: { type: 'integer', minimum: 1 },
          taskId: { anyOf: [uuid, { type: 'null' }] },
          stream: { enum: ['stdout', 'stderr', 'system'] },
          text: { type: 'string', maxLength: MAX_LINE_LENGTH },
          at: timestamp,
          continues: { type: 'boolean' },
        },
      },
    },
  },
};

const linesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'operationId', 'taskId', 'seq', 'at', 'text', 'ms', 'streams'],
  properties: {
    ...header('lines'),
    operationId: uuid,
    taskId: { anyOf: [uuid, { type: 'null' }] },
    seq: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    at: timestamp,
    text: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_LINES_PER_MESSAGE,
      // the length is checked in checkLines, in UTF-16 units: Ajv's maxLength walks every
      // character of every line to count code points
      items: { type: 'string' },
    },
    // a task runs at most days: a day's milliseconds is plenty
    ms: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 86_400_000 } },
    streams: { type: 'string', pattern: '^[oes]*$' },
    continues: { type: 'array', uniqueItems: true, items: { type: 'integer', minimum: 0 } },
  },
};

/** What the schema cannot say: the columns of a `lines` message line up. */
function checkLines(message: LinesMessage): string | undefined {
  const count = message.text.length;
  if (message.ms.length !== count) return `/ms has ${message.ms.length} items for ${count} lines`;
  if (message.streams.length !== count) {
    return `/streams has ${message.streams.length} codes for ${count} lines`;
  }
  const long = message.text.findIndex((text) => text.length > MAX_LINE_LENGTH);
  if (long >= 0) return `/text/${long} is longer than ${MAX_LINE_LENGTH} characters`;
  if (message.continues?.some((index) => index >= count)) {
    return `/continues names a line past the last (${count - 1})`;
  }
  return undefined;
}

const MAX_EVENTS_PER_MESSAGE = 1000;

const eventsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'operationId', 'events'],
  properties: {
    ...header('events'),
    operationId: uuid,
    // each event is checked against its own kind's schema by checkEvents
    events: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_EVENTS_PER_MESSAGE,
      items: {
        type: 'object',
        required: ['kind', 'operationId'],
        properties: { kind: { enum: ['lines', 'status'] }, operationId: uuid },
      },
    },
  },
};

const statusSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'operationId', 'taskId', 'status', 'at', 'dispatcherId'],
  properties: {
    ...header('status'),
    operationId: uuid,
    taskId: { anyOf: [uuid, { type: 'null' }] },
    status: { enum: [...OPERATION_STATUSES] },
    at: timestamp,
    dispatcherId: name,
    exitCode: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
    reason: { anyOf: [{ type: 'string', maxLength: 4096 }, { type: 'null' }] },
    lineCount: { type: 'integer', minimum: 0 },
  },
};

const heartbeatSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'dispatcherId', 'pool', 'operations', 'at'],
  properties: {
    ...header('heartbeat'),
    dispatcherId: name,
    pool: name,
    operations: { type: 'array', maxItems: 10_000, items: uuid },
    at: timestamp,
    concurrency: { type: 'integer', minimum: 1, maximum: 10_000 },
  },
};

const claimSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'operationId', 'dispatcherId', 'replyTo', 'at'],
  properties: {
    ...header('claim'),
    operationId: uuid,
    dispatcherId: name,
    replyTo: name,
    at: timestamp,
    claimId: uuid,
  },
};

const claimResultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'kind', 'operationId', 'granted'],
  properties: {
    ...header('claim-result'),
    operationId: uuid,
    granted: { type: 'boolean' },
    reason: { anyOf: [{ type: 'string', maxLength: 4096 }, { type: 'null' }] },
  },
};

/** A kind's schema with the fields the relay adds when it signs (see SignedFields). */
function signed(
  schema: { required: string[]; properties: Record<string, unknown> },
  extra: { required: string[]; properties: Record<string, unknown> },
) {
  return {
    ...schema,
    required: [...schema.required, 'nonce', 'expiresAt', ...extra.required],
    properties: { ...schema.properties, nonce: uuid, expiresAt: timestamp, ...extra.properties },
  };
}

const ajv = new Ajv({ allErrors: false, strict: true });
addFormats(ajv, ['uuid', 'date-time']);

const validators: Record<string, ValidateFunction> = {
  dispatch: ajv.compile(dispatchSchema),
  cancel: ajv.compile(cancelSchema),
  log: ajv.compile(logSchema),
  lines: ajv.compile(linesSchema),
  events: ajv.compile(eventsSchema),
  status: ajv.compile(statusSchema),
  heartbeat: ajv.compile(heartbeatSchema),
  claim: ajv.compile(claimSchema),
  'claim-result': ajv.compile(claimResultSchema),
};

/** The relay's messages as they travel to dispatchers: signed, naming who they are for. */
const signedValidators: Record<string, ValidateFunction> = {
  dispatch: ajv.compile(signed(dispatchSchema, { required: ['pool'], properties: { pool: name } })),
  cancel: ajv.compile(signed(cancelSchema, { required: [], properties: {} })),
  'claim-result': ajv.compile(
    signed(claimResultSchema, {
      required: ['dispatcherId'],
      properties: { dispatcherId: name, claimId: uuid },
    }),
  ),
};

function describe(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'invalid message';
  const where = first.instancePath || '(message)';
  const extra =
    first.keyword === 'additionalProperties'
      ? ` '${String((first.params as { additionalProperty: string }).additionalProperty)}'`
      : '';
  return `${where} ${first.message ?? 'is invalid'}${extra}`;
}

/**
 * Parses and validates a message body against the kinds a queue accepts. Never throws:
 * a consumer dead-letters whatever comes back not ok, with the reason given.
 */
export function decodeMessage<T>(
  body: Buffer,
  accepted: readonly string[],
  schemas: Record<string, ValidateFunction> = validators,
): Decoded<T> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'body is not a JSON object' };
  }
  const { v, kind } = value as { v?: unknown; kind?: unknown };
  if (v !== CONTRACT_VERSION) {
    return { ok: false, reason: `unsupported message version ${JSON.stringify(v ?? null)}` };
  }
  if (typeof kind !== 'string' || !accepted.includes(kind)) {
    return {
      ok: false,
      reason: `message kind ${JSON.stringify(kind ?? null)} is not accepted here (expected ${accepted.join(', ')})`,
    };
  }
  const reason = check(value, kind, schemas);
  return reason === undefined ? { ok: true, message: value as T } : { ok: false, reason };
}

/** Why a parsed message of this kind is invalid, or undefined when it is valid. */
function check(
  value: object,
  kind: string,
  schemas: Record<string, ValidateFunction> = validators,
): string | undefined {
  const validate = schemas[kind];
  if (!validate(value)) return `invalid ${kind} message: ${describe(validate.errors)}`;
  const mismatch =
    kind === 'lines'
      ? checkLines(value as LinesMessage)
      : kind === 'events'
        ? checkEvents(value as EventsMessage)
        : undefined;
  return mismatch === undefined ? undefined : `invalid ${kind} message: ${mismatch}`;
}

/** Every event of a group is valid as its own kind, and of the group's operation. */
function checkEvents(group: EventsMessage): string | undefined {
  for (const [index, event] of group.events.entries()) {
    if (event.operationId !== group.operationId) {
      return `/events/${index} is of operation ${event.operationId}, not ${group.operationId}`;
    }
    const reason = check(event, event.kind);
    if (reason !== undefined) return `/events/${index}: ${reason}`;
  }
  return undefined;
}

export const decodeDispatch = (body: Buffer): Decoded<DispatchMessage> =>
  decodeMessage<DispatchMessage>(body, ['dispatch']);
export const decodeControl = (body: Buffer): Decoded<ControlMessage> =>
  decodeMessage<ControlMessage>(body, ['cancel', 'claim-result']);
/** A dispatch as a dispatcher takes it: signed (the signature itself is checked before). */
export const decodeSignedDispatch = (body: Buffer): Decoded<SignedDispatchMessage> =>
  decodeMessage<SignedDispatchMessage>(body, ['dispatch'], signedValidators);
/** A cancel or claim answer as a dispatcher takes it: signed. */
export const decodeSignedControl = (body: Buffer): Decoded<SignedControlMessage> =>
  decodeMessage<SignedControlMessage>(body, ['cancel', 'claim-result'], signedValidators);
export const decodeClaim = (body: Buffer): Decoded<ClaimMessage> =>
  decodeMessage<ClaimMessage>(body, ['claim']);
export const decodeEvent = (body: Buffer): Decoded<EventMessage> =>
  decodeMessage<EventMessage>(body, EVENT_KINDS);

/** The bytes put on the wire for a message. */
export function encodeMessage(message: object): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}
