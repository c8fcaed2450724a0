import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { SseWriter } from './sse-writer';

export const STREAM_KINDS = ['log', 'operations'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

/**
 * Every SSE stream open in this process: counted (a gauge reads `count`) and ended when the
 * api stops, so that the HTTP server can close (clients reconnect with Last-Event-ID).
 */
@Injectable()
export class OpenStreams implements OnModuleDestroy {
  private readonly open = new Map<SseWriter, StreamKind>();

  add(kind: StreamKind, sse: SseWriter): void {
    this.open.set(sse, kind);
    sse.onClose(() => this.open.delete(sse));
  }

  /** Streams open now, of one kind or of both. */
  count(kind?: StreamKind): number {
    if (kind === undefined) return this.open.size;
    let n = 0;
    for (const each of this.open.values()) if (each === kind) n++;
    return n;
  }

  onModuleDestroy(): void {
    for (const sse of [...this.open.keys()]) sse.end();
  }
}
