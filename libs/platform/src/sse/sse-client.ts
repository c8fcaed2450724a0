import { setTimeout as sleep } from 'node:timers/promises';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One server-sent event: its name (`message` when the server gave none), data and id. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export interface SseOptions {
  url: string;
  /** Sent on every (re)connect, e.g. authorization. */
  headers?: Record<string, string>;
  /** Resume after this event id (sent as Last-Event-ID on the first connect too). */
  lastEventId?: string;
  /** Wait before reconnecting, unless the server sent `retry:`; default 1000 ms. */
  retryMs?: number;
  /** Consecutive failed connects before giving up; default 10. A connect that delivered events resets it. */
  maxRetries?: number;
  signal?: AbortSignal;
  /** Told of each reconnect (after the stream ended or broke), for a progress line. */
  onReconnect?: (attempt: number, lastEventId: string | undefined, reason: string) => void;
}

/** The server answered a connect with something else than 200 text/event-stream. */
export class SseHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the api answered ${status}: ${body.slice(0, 500)}`);
    this.name = 'SseHttpError';
  }
}

/** A 4xx will answer the same again: no point in retrying it. (408 and 429 may pass.) */
const isFinal = (status: number) => status >= 400 && status < 500 && ![408, 429].includes(status);

/**
 * The events of an SSE endpoint, over fetch and eventsource-parser, across reconnects: when
 * the stream ends or breaks, it connects again with `Last-Event-ID` set to the last id seen,
 * so a server that resumes from it (as the api's live log does) loses and repeats nothing.
 * It ends only when the caller stops iterating (break/return), the signal aborts, or
 * connecting keeps failing (the last error is thrown; a final 4xx at once, as SseHttpError).
 */
export async function* sseEvents(options: SseOptions): AsyncGenerator<SseEvent, void, undefined> {
  let lastEventId = options.lastEventId;
  let retryMs = options.retryMs ?? 1000;
  const maxRetries = options.maxRetries ?? 10;
  let failures = 0;
  for (let attempt = 0; ; attempt++) {
    const abort = new AbortController();
    const stop = () => abort.abort();
    options.signal?.addEventListener('abort', stop, { once: true });
    let reason = 'the stream ended';
    let delivered = false;
    try {
      const response = await fetch(options.url, {
        headers: {
          accept: 'text/event-stream',
          ...options.headers,
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal: abort.signal,
      });
      if (response.status !== 200 || !response.body) {
        const body = await response.text().catch(() => '');
        throw new SseHttpError(response.status, body);
      }
      const queue: SseEvent[] = [];
      const parser = createParser({
        onEvent: (message: EventSourceMessage) => {
          if (message.id !== undefined) lastEventId = message.id;
          queue.push({ event: message.event ?? 'message', data: message.data, id: message.id });
        },
        onRetry: (ms) => {
          retryMs = ms;
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
        while (queue.length > 0) {
          delivered = true;
          failures = 0;
          yield queue.shift() as SseEvent;
        }
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      if (error instanceof SseHttpError && isFinal(error.status)) throw error;
      if (!delivered && failures + 1 > maxRetries) throw error;
      reason = error instanceof Error ? error.message : String(error);
    } finally {
      options.signal?.removeEventListener('abort', stop);
      abort.abort(); // the caller stopped iterating, or we reconnect: close this response
    }
    if (options.signal?.aborted) return;
    // a connect that gave nothing counts as a failure, however it ended
    if (!delivered && ++failures > maxRetries) {
      throw new Error(`${options.url}: ${reason}, ${failures} times`);
    }
    options.onReconnect?.(attempt + 1, lastEventId, reason);
    await sleep(retryMs, undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal?.aborted) return;
  }
}
