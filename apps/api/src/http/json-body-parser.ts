import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { isUnstorable, UNSTORABLE_RULE, unstorablePath } from '@app/platform';
import { machineryKeyProblem, mayHoldMachineryKey } from './machinery-keys';

/** Deeper JSON is refused before it is parsed: nothing the api takes nests this far. */
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_BYTES = '1mb';

/** Thrown in the body parser, which answers with its status and message. */
class RequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * In JSON text, NUL and a lone surrogate can only be written as `\u` escapes (a raw NUL is
 * not JSON; invalid UTF-8 decodes to U+FFFD): only a body with one is searched for the field.
 */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * Text the database cannot store and machinery keys, each answered with the field at fault.
 * Only a body whose text may hold one (a `\u` escape, such a key) is parsed an extra time.
 */
function refuseBodyProblems(body: Buffer): void {
  const text = body.toString('utf8');
  const escapes = UNSTORABLE_ESCAPE.test(text);
  const keys = mayHoldMachineryKey(text);
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
function jsonDepth(text: Buffer): number {
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

/**
 * The api's one body parser: JSON of at most MAX_JSON_BYTES and MAX_JSON_DEPTH levels, with
 * no text the database cannot store (400, where it would have failed as a 500) and no
 * `__proto__`, `constructor` or `prototype` key (400, where it would have been dropped unseen).
 */
export function useJsonBodyParser(app: NestExpressApplication): void {
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
