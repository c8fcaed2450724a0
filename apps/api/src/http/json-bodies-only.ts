import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerRefusal } from './refusal-answer';

/** The methods whose body is checked (the OpenAPI document lists the refusals for them). */
export const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  );
}

function isJson(request: IncomingMessage): boolean {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json';
}

/** A request body that is not application/json is answered 415: a plain HTML form cannot post one. */
export function jsonBodiesOnly() {
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (WITH_BODY.has(request.method ?? '') && hasBody(request) && !isJson(request)) {
      answerRefusal(
        request,
        response,
        415,
        'Unsupported Media Type',
        'request bodies must be application/json',
      );
      return;
    }
    next();
  };
}
