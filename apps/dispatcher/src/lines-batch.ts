import {
  CONTRACT_VERSION,
  STREAM_CODE_OF,
  type LinesMessage,
  type LogStream,
} from '@app/contracts';

/**
 * The open batch of an operation's output: consecutive lines of one task, kept in the
 * columns of a `lines` message, so a line costs a few array pushes and no timestamp string.
 */
export class LinesBatch {
  private taskId: string | null = null;
  private firstSeq = 0;
  private startedAt = 0;
  private text: string[] = [];
  private ms: number[] = [];
  private streams = '';
  private continues: number[] = [];
  /** UTF-8 bytes of the lines' text. */
  bytes = 0;

  get size(): number {
    return this.text.length;
  }

  /** A message holds the lines of one task: another task's line must wait for the next. */
  accepts(taskId: string | null): boolean {
    return this.text.length === 0 || taskId === this.taskId;
  }

  add(
    seq: number,
    taskId: string | null,
    stream: LogStream,
    text: string,
    bytes: number,
    continues: boolean,
  ): void {
    const now = Date.now();
    if (this.text.length === 0) {
      this.taskId = taskId;
      this.firstSeq = seq;
      this.startedAt = now;
    }
    if (continues) this.continues.push(this.text.length);
    this.text.push(text);
    // never negative, even if the wall clock steps back while the batch is open
    this.ms.push(Math.max(0, now - this.startedAt));
    this.streams += STREAM_CODE_OF[stream];
    this.bytes += bytes;
  }

  /** The message of the lines so far; the batch is empty afterwards. */
  take(operationId: string): LinesMessage {
    const message: LinesMessage = {
      v: CONTRACT_VERSION,
      kind: 'lines',
      operationId,
      taskId: this.taskId,
      seq: this.firstSeq,
      at: new Date(this.startedAt).toISOString(),
      text: this.text,
      ms: this.ms,
      streams: this.streams,
      ...(this.continues.length > 0 ? { continues: this.continues } : {}),
    };
    this.text = [];
    this.ms = [];
    this.streams = '';
    this.continues = [];
    this.bytes = 0;
    return message;
  }
}
