import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnsiStripper, stripAnsi } from './ansi';

const ESC = '\x1b';

describe('stripAnsi', () => {
  const cases: [string, string, string][] = [
    ['SGR colours', `${ESC}[1;31mred${ESC}[0m ${ESC}[38;2;255;0;0mrgb${ESC}[m`, 'red rgb'],
    ['cursor and erase', `${ESC}[2K${ESC}[1G${ESC}[?25l${ESC}[3Adone`, 'done'],
    ['OSC ended by BEL', `${ESC}]0;my title\x07text`, 'text'],
    ['OSC ended by ST', `${ESC}]8;;https://x.org/a?b=c${ESC}\\link${ESC}]8;;${ESC}\\`, 'link'],
    ['DCS and APC strings', `a${ESC}P1$r0m${ESC}\\b${ESC}_app\x07c`, 'abc'],
    ['two-byte and charset escapes', `${ESC}7${ESC}(B${ESC}=${ESC}Mx${ESC}8`, 'x'],
    ['C0 controls but TAB and LF', 'a\x01\x07\x08\x0b\x0c\r\x0e\x1f\tb\n', 'a\tb\n'],
    ['a lone ESC at the end', `tail${ESC}`, 'tail'],
    ['an ESC followed by text that is no sequence', `${ESC}é`, 'é'],
    ['a cut-short CSI leaves its parameters', `${ESC}[31\nx`, '31\nx'],
    ['an unterminated OSC stops at the newline', `${ESC}]0;title\nnext\x07`, '0;title\nnext'],
    ['plain text, brackets, unicode, DEL', 'a[31m] ünï 😀 \x7f', 'a[31m] ünï 😀 \x7f'],
  ];
  for (const [what, input, expected] of cases) {
    it(`removes ${what}`, () => {
      assert.equal(stripAnsi(input), expected);
    });
  }
});

describe('AnsiStripper', () => {
  it('holds back a sequence cut short by the end of a chunk until the next one', () => {
    const stripper = new AnsiStripper();
    assert.equal(stripper.push(`red ${ESC}[1;3`), 'red ');
    assert.equal(stripper.push(`1mbold${ESC}`), 'bold');
    assert.equal(stripper.push(`[0m ${ESC}]0;tit`), ' ');
    assert.equal(stripper.push(`le${ESC}`), '');
    assert.equal(stripper.push(`\\ end`), ' end');
    assert.equal(stripper.end(), '');
  });

  it('at the end, strips what it held back as far as it goes', () => {
    const stripper = new AnsiStripper();
    assert.equal(stripper.push(`x${ESC}]0;never ended`), 'x');
    assert.equal(stripper.end(), '0;never ended');
  });

  it('never holds back more than 4096 characters', () => {
    const stripper = new AnsiStripper();
    const long = `${ESC}]0;${'t'.repeat(5000)}`;
    assert.equal(stripper.push(long), `0;${'t'.repeat(5000)}`);
    assert.equal(stripper.end(), '');
  });

  it('gives the same text whatever the chunking', () => {
    const text = `a${ESC}[1;32mgreen${ESC}[0m\r\n${ESC}]8;;https://x.org/${ESC}\\link${ESC}]8;;\x07 z${ESC}(B!`;
    const whole = stripAnsi(text);
    assert.equal(whole, 'agreen\nlink z!');
    for (let cut = 0; cut <= text.length; cut++) {
      const stripper = new AnsiStripper();
      const out =
        stripper.push(text.slice(0, cut)) + stripper.push(text.slice(cut)) + stripper.end();
      assert.equal(out, whole, `cut at ${cut}`);
    }
  });
});
