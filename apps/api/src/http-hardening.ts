import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AuditLog } from '@app/database';
import { isUnstorable, UNSTORABLE_RULE, unstorablePath } from '@app/platform';
import helmet from 'helmet';
import { listOf, type ApiAccessSettings } from './access/access.settings';
import { accessState } from './access/access-state';
import { RefusalBudget, refusalRecorder } from './access/refusal-recorder';
import { API_PREFIX } from './api-prefix';

/** Deeper JSON is refused before it is parsed: nothing the api takes nests this far. */
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_BYTES = '1mb';

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

class RequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

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

/**
 * In JSON text, NUL and a lone surrogate can only be written as `\u` escapes (a raw NUL is
 * not JSON; invalid UTF-8 decodes to U+FFFD): only a body with one is searched for the field.
 */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * Keys that name an object's machinery, not data. class-transformer drops them silently, so a
 * body holding one would pass unchecked: it is refused instead, as an unknown property is.
 */
const MACHINERY_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MACHINERY_KEY_TEXT = /"(?:__proto__|constructor|prototype)"\s*:/;

function unknownProperty(path: string, key: string): string {
  if (!path) return `property ${key} should not exist`;
  if (path === 'params' || path.startsWith('params.'))
    return `${path}.${key} is not a known parameter`;
  return `${path}.${key} should not exist`;
}

/** The refusal for the first machinery key in a parsed body, if it has one. */
export function machineryKeyProblem(value: unknown, path = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (!Array.isArray(value) && MACHINERY_KEYS.has(key)) return unknownProperty(path, key);
    const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    const found = machineryKeyProblem(child, childPath);
    if (found) return found;
  }
  return undefined;
}

/**
 * Text the database cannot store and machinery keys, each answered with the field at fault.
 * Only a body whose text may hold one (a `\u` escape, such a key) is parsed an extra time.
 */
function refuseBodyProblems(body: Buffer): void {
  const text = body.toString('utf8');
  const escapes = UNSTORABLE_ESCAPE.test(text);
  const keys = MACHINERY_KEY_TEXT.test(text);
  if (!escapes && !keys) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return; // the parser answers that
  }
  const field = escapes ? unstorablePath(parsed) : undefined;
  if (field) throw new RequestRefused(400, `${field} ${UNSTORABLE_RULE}`);
  const problem = keys ? machineryKeyProblem(parsed) : undefined;
  if (problem) throw new RequestRefused(400, problem);
}

/** JSON.parse's reviver: a safety net behind refuseBodyProblems. */
function refuseUnstorable(this: unknown, key: string, value: unknown): unknown {
  if ((typeof value === 'string' && isUnstorable(value)) || isUnstorable(key)) {
    throw new RequestRefused(400, `text ${UNSTORABLE_RULE}`);
  }
  return value;
}

/** How deep the brackets of a JSON text go, outside its strings. */
export function jsonDepth(text: Buffer): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return deepest;
}

function answer(
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

/** The host name of a Host header: `api.example.com:3000` → `api.example.com`, `[::1]:80` → `[::1]`. */
export function hostName(header: string): string {
  const name = header.startsWith('[')
    ? header.slice(0, header.indexOf(']') + 1)
    : header.split(':')[0];
  return name.toLowerCase();
}

const HEALTH_PATH = `/${API_PREFIX}/health`;
const isHealth = (request: IncomingMessage): boolean =>
  (request.url ?? '').split('?')[0] === HEALTH_PATH;

/**
 * With API_ALLOWED_HOSTS, a request naming another Host is answered 421 (a page on a
 * rebound DNS name reaches the api with its own name there); one without a Host, 400.
 * Health answers whatever the Host: it says nothing.
 */
function allowedHostsOnly(allowed: string[]) {
  const hosts = new Set(allowed.map((host) => host.toLowerCase()));
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (hosts.size === 0 || isHealth(request)) return next();
    const header = request.headers.host;
    if (!header) {
      answer(request, response, 400, 'Bad Request', 'a Host header is required');
      return;
    }
    const name = hostName(header);
    if (!hosts.has(name)) {
      answer(
        request,
        response,
        421,
        'Misdirected Request',
        `host ${JSON.stringify(name.slice(0, 100))} is not one this api answers to (API_ALLOWED_HOSTS)`,
      );
      return;
    }
    next();
  };
}

/**
 * What every request meets before a controller: its refusal, if it is refused, recorded in
 * the audit; the Host checked (API_ALLOWED_HOSTS); CORS only for API_CORS_ORIGINS (none by
 * default); security headers (helmet, no X-Powered-By), bodies only as application/json (a
 * plain HTML form cannot post one: 415), at most MAX_JSON_BYTES and MAX_JSON_DEPTH levels
 * deep, no text in body or query that the database cannot store (400, where it would have
 * failed as a 500), and no `__proto__`, `constructor` or `prototype` key (400, where it would
 * have been dropped unseen). Call before the app is initialised.
 */
export function hardenHttp(
  app: NestExpressApplication,
  settings: ApiAccessSettings,
  audit: AuditLog,
): void {
  app.use(refusalRecorder(audit, new RefusalBudget(settings.auditRefusalsPerMinute)));
  app.use(allowedHostsOnly(listOf(settings.allowedHosts)));
  const origins = listOf(settings.corsOrigins);
  if (origins.length > 0) {
    app.enableCors({
      origin: origins,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      exposedHeaders: ['Retry-After', 'WWW-Authenticate'],
      maxAge: 600,
    });
  }
  app.disable('x-powered-by');
  app.use(helmet());
  app.use((request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => {
    if (WITH_BODY.has(request.method ?? '') && hasBody(request) && !isJson(request)) {
      answer(
        request,
        response,
        415,
        'Unsupported Media Type',
        'request bodies must be application/json',
      );
      return;
    }
    const query = new URL(request.url ?? '/', 'http://api').searchParams;
    for (const [name, value] of query) {
      if (MACHINERY_KEYS.has(name)) {
        answer(request, response, 400, 'Bad Request', unknownProperty('', name));
        return;
      }
      if (isUnstorable(name) || isUnstorable(value)) {
        const field = isUnstorable(name) ? `query parameter ${JSON.stringify(name)}` : name;
        answer(request, response, 400, 'Bad Request', `${field} ${UNSTORABLE_RULE}`);
        return;
      }
    }
    next();
  });
  app.useBodyParser('json', {
    limit: MAX_JSON_BYTES,
    reviver: refuseUnstorable,
    verify: (_request: IncomingMessage, _response: ServerResponse, body: Buffer) => {
      if (jsonDepth(body) > MAX_JSON_DEPTH) {
        throw new RequestRefused(400, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
      }
      refuseBodyProblems(body);
    },
  });
}
