import { StringDecoder } from 'node:string_decoder';

export interface LineSplitterOptions {
  /** Longest line, in UTF-16 code units; a longer line is emitted as several pieces. */
  maxLineLength?: number;
}

export const DEFAULT_MAX_LINE_LENGTH = 65536;

const LF = '\n';
const CR = 0x0d;
const NUL = '\0';
const NUL_GLOBAL = /\0/g;
const REPLACEMENT = '\uFFFD';

/**
 * Turns a byte stream into text lines: UTF-8 safe across chunk boundaries (invalid bytes become
 * U+FFFD), `\n` or `\r\n` terminated, empty lines kept, NUL replaced by U+FFFD, and lines longer
 * than `maxLineLength` cut into pieces so that memory stays bounded whatever a process prints.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly max: number;
  /** Text of the current, unterminated line. */
  private pending = '';

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxLineLength must be a positive integer, got ${String(max)}`);
    }
    this.max = max;
  }

  /** Feeds a chunk; returns the lines it completed, in order. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    this.consume(this.decoder.write(chunk), lines);
    return lines;
  }

  /** Ends the input; returns the remaining lines (a final line without newline included). */
  end(): string[] {
    const lines: string[] = [];
    this.consume(this.decoder.end(), lines);
    const rest = this.pending;
    this.pending = '';
    if (rest.length > 0) this.emit(rest, 0, rest.length, lines);
    return lines;
  }

  private consume(decoded: string, lines: string[]): void {
    if (decoded.length === 0) return;
    const text = decoded.includes(NUL) ? decoded.replace(NUL_GLOBAL, REPLACEMENT) : decoded;
    const buf = this.pending.length > 0 ? this.pending + text : text;

    let start = 0;
    let newline = buf.indexOf(LF);
    while (newline !== -1) {
      const end = newline > start && buf.charCodeAt(newline - 1) === CR ? newline - 1 : newline;
      this.emit(buf, start, end, lines);
      start = newline + 1;
      newline = buf.indexOf(LF, start);
    }

    // Cut an over-long unterminated line now, so `pending` never grows past max + 1. A last
    // character `\r` is held back: it may be the start of a `\r\n` split across chunks.
    while (buf.length - start > this.max) {
      if (buf.length - start === this.max + 1 && buf.charCodeAt(buf.length - 1) === CR) break;
      const cut = this.cutPoint(buf, start);
      lines.push(buf.slice(start, cut));
      start = cut;
    }
    this.pending = start === 0 ? buf : buf.slice(start);
  }

  /** Emits buf[start, end) as one line, or as pieces of at most `max` when longer. */
  private emit(buf: string, start: number, end: number, lines: string[]): void {
    while (end - start > this.max) {
      const cut = this.cutPoint(buf, start);
      lines.push(buf.slice(start, cut));
      start = cut;
    }
    lines.push(buf.slice(start, end));
  }

  /** Where a piece starting at `start` ends: `max` units on, but not inside a surrogate pair. */
  private cutPoint(buf: string, start: number): number {
    const cut = start + this.max;
    const before = buf.charCodeAt(cut - 1);
    const isHighSurrogate = before >= 0xd800 && before <= 0xdbff;
    return isHighSurrogate && cut - 1 > start ? cut - 1 : cut;
  }
}
