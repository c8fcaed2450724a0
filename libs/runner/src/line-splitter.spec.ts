import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AnsiMode } from './ansi';
import { LineSplitter, type LineSink } from './line-splitter';

type Piece = [text: string, continues: boolean];

/** Feeds every chunk, then ends; returns every line with its `continues` flag. */
function pieces(chunks: (string | Buffer)[], maxLineLength?: number, ansi?: AnsiMode): Piece[] {
  const splitter = new LineSplitter({ maxLineLength, ansi });
  const out: Piece[] = [];
  const sink: LineSink = (text, continues) => out.push([text, continues]);
  for (const chunk of chunks) {
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, sink);
  }
  splitter.end(sink);
  return out;
}

/** Feeds every chunk, then ends; returns all lines' text. */
function split(chunks: (string | Buffer)[], maxLineLength?: number, ansi?: AnsiMode): string[] {
  return pieces(chunks, maxLineLength, ansi).map(([text]) => text);
}

/** What one push (or end, without a chunk) emits. */
function take(splitter: LineSplitter, chunk?: string): string[] {
  const out: string[] = [];
  const sink: LineSink = (text) => out.push(text);
  if (chunk === undefined) splitter.end(sink);
  else splitter.push(Buffer.from(chunk), sink);
  return out;
}

describe('LineSplitter', () => {
  it('returns complete lines from push and keeps the partial one', () => {
    const splitter = new LineSplitter();
    assert.deepEqual(take(splitter, 'one\ntw'), ['one']);
    assert.deepEqual(take(splitter, 'o\nthr'), ['two']);
    assert.deepEqual(take(splitter, 'ee'), []);
    assert.deepEqual(take(splitter), ['three']);
    assert.deepEqual(take(splitter), []);
  });

  it('joins a line split across many chunks', () => {
    assert.deepEqual(split(['he', 'l', 'lo wor', 'ld\n']), ['hello world']);
  });

  it('decodes a UTF-8 character split across two chunks', () => {
    const bytes = Buffer.from('café\nnaïve\n');
    const cut = bytes.indexOf(0xa9); // second byte of é
    assert.deepEqual(split([bytes.subarray(0, cut), bytes.subarray(cut)]), ['café', 'naïve']);
  });

  it('decodes a 4-byte character fed one byte at a time', () => {
    const bytes = Buffer.from('a😀b\n');
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    assert.deepEqual(split(chunks), ['a😀b']);
  });

  it('strips the CR of CRLF, also when CR and LF arrive in different chunks', () => {
    assert.deepEqual(split(['a\r\nb\r', '\nc\n']), ['a', 'b', 'c']);
  });

  it('keeps a CR that is not followed by LF', () => {
    assert.deepEqual(split(['50%\r100%\n']), ['50%\r100%']);
  });

  it('keeps empty lines', () => {
    assert.deepEqual(split(['\n\na\n\n', '\r\n']), ['', '', 'a', '', '']);
  });

  it('flushes a final line without newline, and nothing after a final newline', () => {
    assert.deepEqual(split(['a\nlast']), ['a', 'last']);
    assert.deepEqual(split(['a\n']), ['a']);
    assert.deepEqual(split([]), []);
  });

  it('cuts a long line into pieces of at most maxLineLength, in order', () => {
    assert.deepEqual(split(['abcdefghij\nxy\n'], 4), ['abcd', 'efgh', 'ij', 'xy']);
    assert.deepEqual(split(['abcd\n'], 4), ['abcd']);
  });

  it('cuts a long unterminated line while it arrives, so memory stays bounded', () => {
    const splitter = new LineSplitter({ maxLineLength: 4 });
    assert.deepEqual(take(splitter, 'abcdefghij'), ['abcd', 'efgh']);
    assert.deepEqual(take(splitter, 'k\r'), []);
    assert.deepEqual(take(splitter, '\n'), ['ijk']);
    assert.deepEqual(take(splitter), []);
  });

  it('does not turn the CR of a CRLF split at a piece boundary into an extra line', () => {
    assert.deepEqual(split(['abcd\r', '\nx\n'], 4), ['abcd', 'x']);
    assert.deepEqual(split(['abcde\r', '\n'], 4), ['abcd', 'e']);
  });

  it('does not cut a surrogate pair in two', () => {
    const lines = split(['ab😀cd\n'], 3);
    assert.deepEqual(lines, ['ab', '😀c', 'd']);
    assert.ok(lines.every((line) => line.length <= 3));
  });

  it('replaces NUL characters with U+FFFD', () => {
    assert.deepEqual(split([Buffer.from([0x61, 0x00, 0x62, 0x0a, 0x00])]), ['a\uFFFDb', '\uFFFD']);
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    const lines = split([Buffer.from([0x61, 0xff, 0x62, 0x0a]), Buffer.from([0xc3])]);
    assert.deepEqual(lines, ['a\uFFFDb', '\uFFFD']);
  });

  it('splits a large input with many lines quickly', () => {
    const text = Array.from({ length: 200_000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const bytes = Buffer.from(text);
    const splitter = new LineSplitter();
    let count = 0;
    let last = '';
    const started = performance.now();
    const sink: LineSink = (line) => {
      count++;
      last = line;
    };
    for (let offset = 0; offset < bytes.length; offset += 65536) {
      splitter.push(bytes.subarray(offset, offset + 65536), sink);
    }
    const elapsed = performance.now() - started;
    assert.equal(count, 200_000);
    assert.equal(last, 'line 199999');
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  });

  it('marks every piece of a long line but the last as continued', () => {
    assert.deepEqual(pieces(['abcdefghij\nxy\nabcd\n'], 4), [
      ['abcd', true],
      ['efgh', true],
      ['ij', false],
      ['xy', false],
      ['abcd', false],
    ]);
  });

  it('marks the pieces cut while a line arrives, and of a final line without newline', () => {
    const splitter = new LineSplitter({ maxLineLength: 4 });
    const out: Piece[] = [];
    const sink: LineSink = (text, continues) => out.push([text, continues]);
    splitter.push(Buffer.from('abcdefghij'), sink);
    assert.deepEqual(out.splice(0), [
      ['abcd', true],
      ['efgh', true],
    ]);
    splitter.push(Buffer.from('klm\nnopqrs'), sink);
    assert.deepEqual(out.splice(0), [
      ['ijkl', true],
      ['m', false],
      ['nopq', true],
    ]);
    splitter.end(sink);
    assert.deepEqual(out, [['rs', false]]);
  });

  it('a 200 000-character line arriving in 64 KiB chunks comes out as marked pieces', () => {
    const line = Array.from({ length: 200_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(
      '',
    );
    const bytes = Buffer.from(`${line}\nnext\n`);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += 65536) {
      chunks.push(bytes.subarray(offset, offset + 65536));
    }
    const out = pieces(chunks, 65536);
    assert.deepEqual(
      out.map(([text, continues]) => [text.length, continues]),
      [
        [65536, true],
        [65536, true],
        [65536, true],
        [200_000 - 3 * 65536, false],
        [4, false],
      ],
    );
    assert.equal(
      out
        .slice(0, 4)
        .map(([text]) => text)
        .join(''),
      line,
    );
  });

  it('does not cut a surrogate pair in two, and marks the pieces', () => {
    assert.deepEqual(pieces(['ab😀cd\n'], 3), [
      ['ab', true],
      ['😀c', true],
      ['d', false],
    ]);
  });

  it('keeps ANSI escapes and control characters by default', () => {
    const coloured = '\x1b[1;31mred\x1b[0m\x07 50%\r100%';
    assert.deepEqual(split([`${coloured}\n`]), [coloured]);
    assert.deepEqual(split([`${coloured}\n`], undefined, 'keep'), [coloured]);
  });

  it('strips ANSI escapes and control characters but TAB when asked', () => {
    const lines = split(
      [
        '\x1b[1;31mred\x1b[0m and \x1b[38;5;208morange\x1b[m\n',
        '\x1b]0;window title\x07\x1b[2K\x1b[?25lprogress\t50%\r100%\r\n',
        'bell\x07 back\x08space\x1b(B\x1b7 done\x0b\x0c\x1f\n',
        Buffer.from([0x61, 0x00, 0x1b, 0x5b, 0x33, 0x32, 0x6d, 0xff, 0x62, 0x0a]),
      ],
      undefined,
      'strip',
    );
    assert.deepEqual(lines, [
      'red and orange',
      'progress\t50%100%',
      'bell backspace done',
      'a\uFFFD\uFFFDb',
    ]);
  });

  it('strips an escape sequence cut across chunks at any point', () => {
    const text = 'a\x1b[1;32mgreen\x1b[0m \x1b]8;;https://example.org/\x1b\\link\x1b]8;;\x1b\\ z\n';
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(
        split([bytes.subarray(0, cut), bytes.subarray(cut)], undefined, 'strip'),
        ['agreen link z'],
        `cut at byte ${cut}`,
      );
    }
    const oneByteAtATime = [...bytes].map((byte) => Buffer.from([byte]));
    assert.deepEqual(split(oneByteAtATime, undefined, 'strip'), ['agreen link z']);
  });

  it('an unterminated title sequence does not swallow the lines after it', () => {
    assert.deepEqual(split(['\x1b]0;no end\nsecond\x07\n'], undefined, 'strip'), [
      '0;no end',
      'second',
    ]);
  });

  it('measures maxLineLength on the stripped text', () => {
    assert.deepEqual(pieces(['\x1b[31mabcdef\x1b[0m\n'], 4, 'strip'), [
      ['abcd', true],
      ['ef', false],
    ]);
  });

  it('strips a large coloured input quickly', () => {
    const text =
      Array.from({ length: 200_000 }, (_, i) => `\x1b[32mok\x1b[0m: line ${i}`).join('\n') + '\n';
    const bytes = Buffer.from(text);
    const splitter = new LineSplitter({ ansi: 'strip' });
    let count = 0;
    let last = '';
    const sink: LineSink = (line) => {
      count++;
      last = line;
    };
    const started = performance.now();
    for (let offset = 0; offset < bytes.length; offset += 65536) {
      splitter.push(bytes.subarray(offset, offset + 65536), sink);
    }
    splitter.end(sink);
    const elapsed = performance.now() - started;
    assert.equal(count, 200_000);
    assert.equal(last, 'ok: line 199999');
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  });

  it('rejects an invalid maxLineLength or ansi mode', () => {
    assert.throws(() => new LineSplitter({ maxLineLength: 0 }), /maxLineLength/);
    assert.throws(
      () => new LineSplitter({ ansi: 'remove' as AnsiMode }),
      /ansi must be .*"remove"/,
    );
  });
});

describe('LineSplitter with secrets', () => {
  const secret = 'hunter2-s3cr3t';
  /** Every line with its flag, fed in chunks of `size` characters. */
  function masked(text: string, size: number, maxLineLength?: number, secrets = [secret]) {
    const splitter = new LineSplitter({ maxLineLength, secrets });
    const out: Piece[] = [];
    const sink: LineSink = (line, continues) => out.push([line, continues]);
    for (let i = 0; i < text.length; i += size) {
      splitter.push(Buffer.from(text.slice(i, i + size)), sink);
    }
    splitter.end(sink);
    return out;
  }

  it('replaces every occurrence in a line, whatever the chunks', () => {
    const text = `a ${secret} b ${secret}\n${secret}\nplain\n`;
    for (const size of [1, 2, 3, 5, 7, 13, text.length]) {
      assert.deepEqual(
        masked(text, size),
        [
          ['a ******** b ********', false],
          ['********', false],
          ['plain', false],
        ],
        `chunks of ${size}`,
      );
    }
  });

  it('never cuts a secret in two where a long line is cut into pieces', () => {
    // the secret lands across every possible cut of 10-character pieces
    for (let offset = 0; offset < 12; offset++) {
      const text = `${'x'.repeat(offset)}${secret}${'y'.repeat(30)}\n`;
      for (const size of [1, 4, 64]) {
        const out = masked(text, size, 10);
        const whole = out.map(([line]) => line).join('');
        assert.equal(whole, `${'x'.repeat(offset)}********${'y'.repeat(30)}`, `offset ${offset}`);
        assert.ok(
          out.every(([line]) => !line.includes('hunter') && !line.includes('s3cr3t')),
          JSON.stringify(out),
        );
        assert.ok(out.slice(0, -1).every(([, continues]) => continues));
        assert.equal(out.at(-1)![1], false);
        assert.ok(
          out.every(([line]) => line.length <= 10),
          JSON.stringify(out),
        );
      }
    }
  });

  it('masks a value as JSON prints it, and each line of a value of several', () => {
    const quoted = 'pa"ss\\word';
    assert.deepEqual(masked(`"msg": "pa\\"ss\\\\word"\n`, 3, undefined, [quoted]), [
      ['"msg": "********"', false],
    ]);
    assert.deepEqual(
      masked('first line\nsecond line\n', 4, undefined, ['first line\nsecond line']),
      [
        ['********', false],
        ['********', false],
      ],
    );
  });

  it('changes nothing when there are no secrets, or only empty ones', () => {
    assert.deepEqual(masked('a hunter2-s3cr3t\n', 3, undefined, []), [['a hunter2-s3cr3t', false]]);
    assert.deepEqual(masked('a b\n', 3, undefined, ['']), [['a b', false]]);
  });
});
