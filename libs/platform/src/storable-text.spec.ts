import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUnstorable, toStorable, unstorablePath } from './storable-text';

const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';
const PAIR = '\ud83d\ude00'; // 😀

describe('storable text', () => {
  it('tells NUL and unpaired surrogates from text PostgreSQL stores', () => {
    for (const bad of ['a\u0000b', `x${LONE_HIGH}`, `${LONE_LOW}y`, `${LONE_LOW}${LONE_HIGH}`]) {
      assert.equal(isUnstorable(bad), true, JSON.stringify(bad));
    }
    for (const good of ['', 'plain', PAIR, 'tab\tand newline\n', 'é']) {
      assert.equal(isUnstorable(good), false, JSON.stringify(good));
    }
  });

  it('replaces every NUL and unpaired surrogate by U+FFFD, keeping pairs', () => {
    assert.equal(
      toStorable(`a\u0000b\u0000${LONE_HIGH}c${PAIR}${LONE_LOW}`),
      `a\ufffdb\ufffd\ufffdc${PAIR}\ufffd`,
    );
    assert.equal(isUnstorable(toStorable(`${LONE_LOW}${LONE_HIGH}\u0000`)), false);
    assert.equal(toStorable('fine'), 'fine');
  });

  it('names the first value or key that cannot be stored', () => {
    assert.equal(
      unstorablePath({ a: 'ok', list: ['x', `y${LONE_HIGH}`] }, 'params'),
      'params.list[1]',
    );
    assert.equal(unstorablePath({ 'k\u0000': 1 }, 'params'), 'params."k\\u0000" (a key)');
    assert.equal(unstorablePath({ a: [1, { b: 'ok' }] }), undefined);
  });
});
