import type { ServerResponse } from 'node:http';

/** One event as it goes on the wire: made once, it can be written to any number of streams. */
export function sseFrame(event: string, data: string, id?: number): Buffer {
  return Buffer.from(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`);
}

/**
 * One open text/event-stream response: frames events, sends a comment every `heartbeatMs`,
 * and waits for the socket to drain before it says a write is done, so a slow client slows
 * its own stream and never fills the api's memory.
 */
export class SseWriter {
  private heartbeat: NodeJS.Timeout;
  private closedFlag = false;
  private readonly closeHandlers: (() => void)[] = [];

  constructor(
    private readonly response: ServerResponse,
    heartbeatMs: number,
    retryMs = 1000,
  ) {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${retryMs}\n\n`);
    this.heartbeat = setInterval(() => {
      this.comment('keep-alive');
    }, heartbeatMs);
    response.on('close', () => this.closed());
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  onClose(handler: () => void): void {
    if (this.closedFlag) handler();
    else this.closeHandlers.push(handler);
  }

  /** Writes one event; `data` is sent as it is (one line: JSON). Resolves once written out. */
  send(event: string, data: string, id?: number): Promise<void> {
    return this.sendFrame(sseFrame(event, data, id));
  }

  /** Writes an event made by `sseFrame`. Resolves once written out. */
  async sendFrame(frame: Buffer): Promise<void> {
    if (this.closedFlag) return;
    if (this.response.write(frame)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.response.off('drain', done);
        resolve();
      };
      this.response.on('drain', done);
      this.onClose(done);
    });
  }

  /** A comment line: a client's parser skips it, a person reading the stream sees it. */
  comment(text: string): void {
    if (!this.closedFlag) this.response.write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  end(): void {
    if (this.closedFlag) return;
    this.response.end();
    this.closed();
  }

  private closed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearInterval(this.heartbeat);
    for (const handler of this.closeHandlers.splice(0)) handler();
  }
}
