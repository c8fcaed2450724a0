import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogFields } from './log-fields';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * An incoming X-Request-Id taken as it is: up to 128 of the characters ids are made of
 * (UUIDs, trace ids, base64). Anything else (a list, a space, a quote, a control character)
 * is replaced, so a client can neither forge log structure nor flood a line.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * pino-http's `genReqId`: the caller's X-Request-Id when sane, else a new UUID; either way
 * it is echoed in the response's X-Request-Id, so a client can quote the id of its lines.
 */
export function requestIdOf(request: IncomingMessage, response: ServerResponse): string {
  const given = request.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
  if (!response.headersSent) response.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/**
 * Middleware that gives a request its id before anything can refuse it, so that every
 * answer carries X-Request-Id; pino-http takes the id it finds (`req.id`) as it is.
 */
export function assignRequestId(
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
): void {
  const carrier = request as IncomingMessage & { id?: unknown };
  carrier.id ??= requestIdOf(request, response);
  next();
}

const FIELDS = Symbol('aegir.request-log-fields');
type WithFields = IncomingMessage & { [FIELDS]?: LogFields };

/**
 * Says what a request turned out to be about (the operation it created): its
 * "request completed" line carries these fields.
 */
export function noteRequestLogFields(request: IncomingMessage, fields: LogFields): void {
  const carrier = request as WithFields;
  carrier[FIELDS] = { ...carrier[FIELDS], ...fields };
}

export function notedRequestLogFields(request: IncomingMessage): LogFields {
  return (request as WithFields)[FIELDS] ?? {};
}
