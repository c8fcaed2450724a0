/** What to do with ANSI escape sequences (colours, cursor moves, titles) in task output. */
export type AnsiMode = 'keep' | 'strip';

export const ANSI_MODES: readonly AnsiMode[] = ['keep', 'strip'];

/*
 * One match per sequence to remove:
 * - CSI: ESC [ parameter bytes (0x30–0x3F) intermediate bytes (0x20–0x2F) final byte (0x40–0x7E);
 * - OSC, DCS, SOS, PM, APC: ESC ] P X ^ _, a string, then BEL or ST (ESC \); the string never
 *   spans a newline, so an unterminated one cannot swallow the lines after it;
 * - any other escape: ESC, intermediate bytes, a final byte (0x30–0x7E), e.g. ESC ( B, ESC 7;
 * - a C0 control character other than TAB and LF, including a lone ESC and CR (so CRLF becomes
 *   LF and the `\r` of a progress bar disappears). NUL never gets here: it is U+FFFD already.
 */
const SEQUENCE_OR_CONTROL =
  // eslint-disable-next-line no-control-regex
  /\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b\n]*(?:\x07|\x1b\\)|[ -/]*[0-~])|[\x00-\x08\x0b-\x1f]/g;

/** The start of a sequence that the end of a chunk cut short: the next chunk may complete it. */
// eslint-disable-next-line no-control-regex
const UNFINISHED_AT_END = /\x1b(?:\[[0-?]*[ -/]*|[\]PX^_][^\x07\x1b\n]*\x1b?|[ -/]*)$/;

/** An unfinished sequence longer than this is not held back: it is stripped as far as it goes. */
const MAX_HELD_BACK = 4096;

const ESC = '\x1b';

/** Removes ANSI escape sequences and control characters (but TAB and LF) from complete text. */
export function stripAnsi(text: string): string {
  return text.replace(SEQUENCE_OR_CONTROL, '');
}

/**
 * Strips a text stream that arrives in chunks: a sequence cut by a chunk boundary is held back
 * (at most MAX_HELD_BACK characters) until the next chunk completes it.
 */
export class AnsiStripper {
  private held = '';

  push(text: string): string {
    const joined = this.held.length > 0 ? this.held + text : text;
    this.held = '';
    let end = joined.length;
    const lastEsc = joined.lastIndexOf(ESC);
    if (lastEsc !== -1 && joined.length - lastEsc <= MAX_HELD_BACK) {
      const from = Math.max(0, joined.length - MAX_HELD_BACK);
      const unfinished = UNFINISHED_AT_END.exec(from === 0 ? joined : joined.slice(from));
      if (unfinished) {
        end = from + unfinished.index;
        this.held = joined.slice(end);
      }
    }
    return stripAnsi(end === joined.length ? joined : joined.slice(0, end));
  }

  /** Ends the stream: what was held back is stripped as it is. */
  end(): string {
    const rest = this.held;
    this.held = '';
    return rest.length > 0 ? stripAnsi(rest) : '';
  }
}
