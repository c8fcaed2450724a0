import type { IncomingMessage, ServerResponse } from 'node:http';
import { accessState } from '../access/access-state';

/**
 * The answer of a middleware that refuses a request before Nest routes it: Nest's own error
 * shape, and the message noted for the refusal recorder's audit entry.
 */
export function answerRefusal(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  error: string,
  message: string,
): void {
  accessState(request).message = message;
  response.statusCode = status;
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.end(JSON.stringify({ statusCode: status, error, message }));
}
