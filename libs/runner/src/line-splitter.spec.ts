import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from './line-splitter';

/** Feeds every chunk, then ends; returns all lines. */
function split(chunks: (string | Buffer)[], maxLineLength?: number): string[] {
  const splitter = new LineSplitter({ maxLineLength });
  const lines: string[] = [];
  for (const chunk of chunks) {
    lines.push(...splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  }
  lines.push(...splitter.end());
  return lines;
}

describe('LineSplitter', () => {
  it('returns complete lines from push and keeps the partial one', () => {
    const splitter = new LineSplitter();
    assert.deepEqual(splitter.push(Buffer.from('one\ntw')), ['one']);
    assert.deepEqual(splitter.push(Buffer.from('o\nthr')), ['two']);
    assert.deepEqual(splitter.push(Buffer.from('ee')), []);
    assert.deepEqual(splitter.end(), ['three']);
    assert.deepEqual(splitter.end(), []);
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
    assert.deepEqual(splitter.push(Buffer.from('abcdefghij')), ['abcd', 'efgh']);
    assert.deepEqual(splitter.push(Buffer.from('k\r')), []);
    assert.deepEqual(splitter.push(Buffer.from('\n')), ['ijk']);
    assert.deepEqual(splitter.end(), []);
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
    for (let offset = 0; offset < bytes.length; offset += 65536) {
      for (const line of splitter.push(bytes.subarray(offset, offset + 65536))) {
        count++;
        last = line;
      }
    }
    const elapsed = performance.now() - started;
    assert.equal(count, 200_000);
    assert.equal(last, 'line 199999');
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  });

  it('rejects an invalid maxLineLength', () => {
    assert.throws(() => new LineSplitter({ maxLineLength: 0 }), /maxLineLength/);
  });
});
