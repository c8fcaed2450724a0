import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import type { AuditLog } from '@app/database';
import { operationIdInPath } from '../operations/operation-path';
import { accessState, actorOf, sourceOf } from './access-state';

const WINDOW_MS = 60_000;
/** Past this many addresses in one window, the oldest counts are forgotten. */
const MAX_TRACKED = 10_000;

/**
 * How many refusals of one remote address the audit takes per minute: a flood of bad
 * requests must not become a flood of rows. Past the limit one `audit.refusals-suppressed`
 * entry says so, and the rest of that minute's refusals from there are not written.
 */
export class RefusalBudget {
  private readonly counts = new Map<string, { since: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** `record`, `suppress` (the first one over the limit), or `skip`. */
  take(source: string): 'record' | 'suppress' | 'skip' {
    const now = this.now();
    let entry = this.counts.get(source);
    if (!entry || now - entry.since >= WINDOW_MS) {
      if (this.counts.size >= MAX_TRACKED) this.forgetExpired(now);
      entry = { since: now, count: 0 };
      this.counts.set(source, entry);
    }
    entry.count++;
    if (entry.count <= this.perMinute) return 'record';
    return entry.count === this.perMinute + 1 ? 'suppress' : 'skip';
  }

  private forgetExpired(now: number): void {
    for (const [source, entry] of this.counts) {
      if (now - entry.since >= WINDOW_MS) this.counts.delete(source);
    }
    if (this.counts.size >= MAX_TRACKED) this.counts.clear();
  }
}

const pathOf = (request: IncomingMessage): string => (request.url ?? '/').split('?')[0];

function messageText(message: unknown): string | undefined {
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return undefined;
}

/**
 * Middleware that writes an audit entry for every request answered 4xx (401, 403, 404,
 * 409, 415, 421, 429, 400…): who (the token, else `anonymous`), what (the route's action,
 * else `http <METHOD> <path>`), from where, the status and the message. Installed first, so
 * that the refusals of the other middleware are seen too.
 */
export function refusalRecorder(audit: AuditLog, budget: RefusalBudget) {
  const logger = new Logger('RefusalRecorder');
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    const state = accessState(request);
    const withJson = response as ServerResponse & { json?: (body: unknown) => unknown };
    const json = withJson.json;
    if (typeof json === 'function') {
      withJson.json = function (this: unknown, body: unknown) {
        if (response.statusCode >= 400) {
          state.message ??= messageText((body as { message?: unknown } | null)?.message);
        }
        return json.call(this, body);
      };
    }
    response.once('finish', () => {
      const status = response.statusCode;
      if (status < 400 || status >= 500) return;
      const source = sourceOf(request);
      const decision = budget.take(source ?? 'unknown');
      if (decision === 'skip') return;
      const entry =
        decision === 'suppress'
          ? {
              actor: actorOf(state),
              action: 'audit.refusals-suppressed',
              outcome: 'refused' as const,
              source,
              detail: { note: 'more refusals from this address this minute are not recorded' },
            }
          : {
              actor: actorOf(state),
              action: state.action ?? `http ${request.method ?? '?'} ${pathOf(request)}`,
              outcome: 'refused' as const,
              operationId: operationIdInPath(pathOf(request)),
              source,
              detail: {
                status,
                method: request.method,
                path: pathOf(request),
                ...(state.message === undefined ? {} : { message: state.message }),
                ...(state.reason === undefined ? {} : { reason: state.reason }),
                ...(state.refusal === undefined ? {} : { credentials: state.refusal }),
              },
            };
      audit.record(entry).catch((error: Error) => {
        logger.error(`could not record a refused request in the audit: ${error.message}`);
      });
    });
    next();
  };
}
