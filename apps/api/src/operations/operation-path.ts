import type { IncomingMessage } from 'node:http';

const OPERATION_PATH =
  /\/operations\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\/|$)/i;

/** The operation a request's path names (`/operations/<id>/…`), lower-cased; null when none. */
export function operationIdInPath(path: string): string | null {
  return OPERATION_PATH.exec(path.split('?')[0])?.[1]?.toLowerCase() ?? null;
}

/** The log fields of a request: the operation its path names, if any. */
export function requestLogFields(request: IncomingMessage): { operationId?: string } {
  // Express cuts a middleware's mount path off `url`; `originalUrl` keeps the whole
  const { originalUrl } = request as IncomingMessage & { originalUrl?: string };
  const operationId = operationIdInPath(originalUrl ?? request.url ?? '/');
  return operationId === null ? {} : { operationId };
}
