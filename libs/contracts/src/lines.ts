import {
  STREAM_CODES,
  type LinesMessage,
  type LogLine,
  type LogMessage,
  type LogStream,
  type StreamCode,
} from './messages';

/** One line, as its columns: what the relay writes per row. */
export type VisitLine = (
  taskId: string | null,
  seq: number,
  stream: LogStream,
  text: string,
  at: string,
  continues: boolean,
) => void;

/** Calls `visit` for every line of the message, in order. */
export function forEachLine(message: LogMessage | LinesMessage, visit: VisitLine): void {
  if (message.kind === 'log') {
    for (const line of message.lines) {
      visit(line.taskId, line.seq, line.stream, line.text, line.at, line.continues === true);
    }
    return;
  }
  const base = Date.parse(message.at);
  const continued = new Set(message.continues);
  // Many lines share a millisecond: format each distinct time once.
  let lastMs = -1;
  let at = '';
  for (let i = 0; i < message.text.length; i++) {
    if (message.ms[i] !== lastMs) {
      lastMs = message.ms[i];
      at = new Date(base + lastMs).toISOString();
    }
    const stream = STREAM_CODES[message.streams[i] as StreamCode];
    visit(message.taskId, message.seq + i, stream, message.text[i], at, continued.has(i));
  }
}

/** The lines of a `log` or `lines` message, one object each (for reading, not the hot path). */
export function logLinesOf(message: LogMessage | LinesMessage): LogLine[] {
  const lines: LogLine[] = [];
  forEachLine(message, (taskId, seq, stream, text, at, continues) =>
    lines.push({ seq, taskId, stream, text, at, ...(continues ? { continues: true } : {}) }),
  );
  return lines;
}
