import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ApiTokenRepository } from '@app/database';
import type { Principal } from '../access/access-state';
import { NotificationHub, type HubEvent } from './notification-hub';
import type { SseWriter } from './sse-writer';

export const STREAM_KINDS = ['log', 'operations'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

/** setTimeout's longest delay; a later expiry is armed again when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface OpenStream {
  kind: StreamKind;
  tokenId: string;
  expiry?: NodeJS.Timeout;
}

/**
 * Every SSE stream open in this process: counted (the metrics read `count`), ended when the
 * token it was opened with is revoked (the repository's NOTIFY) or expires, and ended when
 * the api stops, so that the HTTP server can close (clients reconnect with Last-Event-ID, and
 * a token no longer accepted gets its 401 then). After the LISTEN connection was remade, a
 * revocation may have gone unheard: every open stream's token is checked again.
 */
@Injectable()
export class OpenStreams implements OnModuleDestroy {
  private readonly logger = new Logger('LiveLog');
  private readonly open = new Map<SseWriter, OpenStream>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly tokens: ApiTokenRepository,
    hub: NotificationHub,
  ) {
    this.unsubscribe = hub.subscribe((event) => this.onHub(event));
  }

  add(kind: StreamKind, sse: SseWriter, principal: Principal): void {
    const stream: OpenStream = { kind, tokenId: principal.tokenId };
    if (principal.expiresAt) this.endAt(sse, stream, Date.parse(principal.expiresAt));
    this.open.set(sse, stream);
    sse.onClose(() => {
      clearTimeout(stream.expiry);
      this.open.delete(sse);
    });
  }

  /** Streams open now, of one kind or of both. */
  count(kind?: StreamKind): number {
    if (kind === undefined) return this.open.size;
    let n = 0;
    for (const each of this.open.values()) if (each.kind === kind) n++;
    return n;
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    for (const sse of [...this.open.keys()]) sse.end();
  }

  private endAt(sse: SseWriter, stream: OpenStream, at: number): void {
    const wait = at - Date.now();
    if (wait <= 0) return this.end(sse, 'expired');
    stream.expiry = setTimeout(() => this.endAt(sse, stream, at), Math.min(wait, MAX_TIMER_MS));
    stream.expiry.unref();
  }

  private end(sse: SseWriter, why: 'revoked' | 'expired'): void {
    sse.comment(`the token was ${why}`);
    sse.end();
  }

  private onHub(event: HubEvent): void {
    if (event.kind === 'token') {
      for (const [sse, stream] of this.open)
        if (stream.tokenId === event.tokenId) this.end(sse, 'revoked');
    } else if (event.kind === 'resync' && this.open.size > 0) {
      void this.recheck();
    }
  }

  private async recheck(): Promise<void> {
    const ids = [...new Set([...this.open.values()].map((stream) => stream.tokenId))];
    try {
      const valid = await this.tokens.stillValid(ids);
      for (const [sse, stream] of this.open)
        if (!valid.has(stream.tokenId)) this.end(sse, 'revoked');
    } catch (error) {
      this.logger.warn(
        `open streams: their tokens could not be checked again (${(error as Error).message})`,
      );
    }
  }
}
