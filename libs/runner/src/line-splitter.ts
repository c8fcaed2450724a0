import { StringDecoder } from 'node:string_decoder';
import { MAX_LINE_LENGTH } from '@app/contracts';
import { AnsiStripper, type AnsiMode } from './ansi';
import { SecretMasker } from './secret-masker';

export interface LineSplitterOptions {
  /** Longest line, in UTF-16 code units; a longer line is emitted as several pieces. */
  maxLineLength?: number;
  /** `strip` removes ANSI escape sequences and control characters but TAB; default `keep`. */
  ansi?: AnsiMode;
  /**
   * Values replaced by `********` wherever they occur in a line, also across chunk boundaries
   * and where a long line is cut into pieces. None: no work at all.
   */
  secrets?: readonly string[];
}

/**
 * Receives each line in order. `continues` is true for every piece of an over-long line but
 * its last: the next line emitted continues it.
 */
export type LineSink = (text: string, continues: boolean) => void;

/** The wire's limit: a longer piece would be refused by the relay. */
export const DEFAULT_MAX_LINE_LENGTH = MAX_LINE_LENGTH;

const LF = '\n';
const CR = 0x0d;
const NUL = '\0';
const NUL_GLOBAL = /\0/g;
const REPLACEMENT = '\uFFFD';

/**
 * Turns a byte stream into text lines: UTF-8 safe across chunk boundaries (invalid bytes become
 * U+FFFD), `\n` or `\r\n` terminated, empty lines kept, NUL replaced by U+FFFD, ANSI escapes
 * optionally stripped, and lines longer than `maxLineLength` cut into pieces so that memory
 * stays bounded whatever a process prints.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly max: number;
  private readonly stripper: AnsiStripper | undefined;
  private readonly masker: SecretMasker | undefined;
  /** Characters past a cut that must be read before cutting: a secret may straddle it. */
  private readonly holdBack: number;
  /** Text of the current, unterminated line. */
  private pending = '';

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxLineLength must be a positive integer, got ${String(max)}`);
    }
    const ansi = options.ansi ?? 'keep';
    if (ansi !== 'keep' && ansi !== 'strip') {
      throw new RangeError(`ansi must be "keep" or "strip", got ${JSON.stringify(ansi)}`);
    }
    this.max = max;
    this.stripper = ansi === 'strip' ? new AnsiStripper() : undefined;
    this.masker = SecretMasker.of(options.secrets);
    this.holdBack = this.masker ? this.masker.longest - 1 : 0;
  }

  /** Feeds a chunk; emits the lines it completed, in order. */
  push(chunk: Buffer, emit: LineSink): void {
    this.consume(this.decoder.write(chunk), emit);
  }

  /** Ends the input; emits the remaining lines (a final line without newline included). */
  end(emit: LineSink): void {
    this.consume(this.decoder.end(), emit);
    if (this.stripper) this.consume(this.stripper.end(), emit, false);
    const rest = this.pending;
    this.pending = '';
    if (rest.length > 0) this.emit(rest, 0, rest.length, emit);
  }

  private consume(decoded: string, emit: LineSink, strip = true): void {
    if (decoded.length === 0) return;
    let text = decoded.includes(NUL) ? decoded.replace(NUL_GLOBAL, REPLACEMENT) : decoded;
    if (strip && this.stripper) text = this.stripper.push(text);
    const buf = this.pending.length > 0 ? this.pending + text : text;

    let start = 0;
    let newline = buf.indexOf(LF);
    while (newline !== -1) {
      const end = newline > start && buf.charCodeAt(newline - 1) === CR ? newline - 1 : newline;
      this.emit(buf, start, end, emit);
      start = newline + 1;
      newline = buf.indexOf(LF, start);
    }

    // Cut an over-long unterminated line now, so `pending` never grows past max + 1 (plus a
    // secret's length, so that no secret is cut in two). A last character `\r` is held back:
    // it may be the start of a `\r\n` split across chunks.
    const limit = this.max + this.holdBack;
    while (buf.length - start > limit) {
      if (buf.length - start === limit + 1 && buf.charCodeAt(buf.length - 1) === CR) break;
      let cut = this.cutPoint(buf, start);
      if (this.masker) {
        cut = this.masker.safeCut(buf, start, cut);
        this.emitMasked(buf.slice(start, cut), true, emit);
      } else {
        emit(buf.slice(start, cut), true);
      }
      start = cut;
    }
    this.pending = start === 0 ? buf : buf.slice(start);
  }

  /** Emits buf[start, end) as one line, or as pieces of at most `max` when longer. */
  private emit(buf: string, start: number, end: number, emit: LineSink): void {
    if (this.masker) return this.emitMasked(buf.slice(start, end), false, emit);
    while (end - start > this.max) {
      const cut = this.cutPoint(buf, start);
      emit(buf.slice(start, cut), true);
      start = cut;
    }
    emit(buf.slice(start, end), false);
  }

  /** Masks the secrets of `text`, then emits it in pieces of at most `max` (a mask is longer). */
  private emitMasked(text: string, continues: boolean, emit: LineSink): void {
    const masked = this.masker!.mask(text);
    let start = 0;
    while (masked.length - start > this.max) {
      const cut = this.cutPoint(masked, start);
      emit(masked.slice(start, cut), true);
      start = cut;
    }
    emit(start === 0 ? masked : masked.slice(start), continues);
  }

  /** Where a piece starting at `start` ends: `max` units on, but not inside a surrogate pair. */
  private cutPoint(buf: string, start: number): number {
    const cut = start + this.max;
    const before = buf.charCodeAt(cut - 1);
    const isHighSurrogate = before >= 0xd800 && before <= 0xdbff;
    return isHighSurrogate && cut - 1 > start ? cut - 1 : cut;
  }
}
