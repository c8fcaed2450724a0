import {
  STREAM_CODES,
  type LinesMessage,
  type LogLine,
  type LogMessage,
  type StreamCode,
} from './messages';

/** The lines of a `log` or `lines` message, one object each (for reading, not the hot path). */
export function logLinesOf(message: LogMessage | LinesMessage): LogLine[] {
  if (message.kind === 'log') return message.lines;
  const base = Date.parse(message.at);
  const continued = new Set(message.continues);
  return message.text.map((text, i) => ({
    seq: message.seq + i,
    taskId: message.taskId,
    stream: STREAM_CODES[message.streams[i] as StreamCode],
    text,
    at: new Date(base + message.ms[i]).toISOString(),
    ...(continued.has(i) ? { continues: true } : {}),
  }));
}
