import { sseEvents, type SseOptions } from './sse-client';

/**
 * The events of the api's live log (`GET …/operations/:id/log/stream`), what the api sends
 * and every client reads. `lines` carries one or more lines, its id the seq of the last one.
 */
export const LIVE_LOG_EVENTS = { lines: 'lines', status: 'status', end: 'end' } as const;

/** The event of the all-operations stream (`GET …/operations/stream`). */
export const OPERATIONS_STREAM_EVENT = 'status';

export interface LiveLine {
  seq: number;
  taskId: string | null;
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
  at: string;
  continues: boolean;
}

export interface LiveTask {
  id: string;
  name: string;
  status: string;
  exitCode: number | null;
  reason: string | null;
}

/** A `status` event: the operation and its tasks, sent first and whenever one of them changes. */
export interface LiveStatus {
  status: string;
  reason: string | null;
  exitCode: number | null;
  cancelRequestedAt: string | null;
  lineCount: number | null;
  linesStored: number | null;
  complete: boolean | null;
  tasks: LiveTask[];
}

/** The `end` event: the operation has ended and every stored line was sent before it. */
export interface LiveEnd {
  status: string;
  reason: string | null;
  exitCode: number | null;
  /** Lines the operation emitted, as its dispatcher reported. */
  lineCount: number | null;
  /** Lines stored when its final status was (null if it never ran). */
  linesStored: number | null;
  /** linesStored === lineCount; null when either is unknown. */
  complete: boolean | null;
  /** The seq of the last line sent: the stream's last event id. */
  lastSeq: number;
}

/** The index of the first line that does not follow on from `after`, or lines.length. */
export function firstGap(lines: readonly { seq: number }[], after: number): number {
  const index = lines.findIndex((line, i) => line.seq !== after + i + 1);
  return index === -1 ? lines.length : index;
}

export type LiveLogEvent =
  | { kind: 'lines'; lines: LiveLine[] }
  | { kind: 'status'; state: LiveStatus }
  | { kind: 'end'; end: LiveEnd };

export interface FollowLogOptions {
  /** The api's base, e.g. `http://127.0.0.1:3000/api/v1`. */
  apiUrl: string;
  token: string;
  operationId: string;
  /** Only lines after this seq (default 0: all of them). */
  after?: number;
  signal?: AbortSignal;
  onReconnect?: SseOptions['onReconnect'];
  retryMs?: number;
}

/**
 * Follows an operation's live log until its `end` event (the last thing yielded), resuming
 * with Last-Event-ID across reconnects. Throws SseHttpError for a 401, 403 or 404.
 */
export async function* followLog(
  options: FollowLogOptions,
): AsyncGenerator<LiveLogEvent, void, undefined> {
  const url = `${options.apiUrl}/operations/${encodeURIComponent(options.operationId)}/log/stream`;
  const events = sseEvents({
    url: options.after ? `${url}?after=${options.after}` : url,
    headers: { authorization: `Bearer ${options.token}` },
    signal: options.signal,
    onReconnect: options.onReconnect,
    retryMs: options.retryMs,
  });
  for await (const event of events) {
    if (event.event === LIVE_LOG_EVENTS.lines) {
      yield { kind: 'lines', lines: (JSON.parse(event.data) as { lines: LiveLine[] }).lines };
    } else if (event.event === LIVE_LOG_EVENTS.status) {
      yield { kind: 'status', state: JSON.parse(event.data) as LiveStatus };
    } else if (event.event === LIVE_LOG_EVENTS.end) {
      yield { kind: 'end', end: JSON.parse(event.data) as LiveEnd };
      return;
    }
  }
}
