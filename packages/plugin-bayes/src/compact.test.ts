/**
 * compact.test.ts — the compact token table: exact lookups (hash collisions,
 * prefixes, unknown tokens), any JavaScript string (non-ASCII, astral, lone
 * surrogates), counts of any size, the last of two equal tokens, and tokens
 * added from UTF-8 bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactCountsBuilder, hashToken, type CompactCounts } from './compact.js';

function table(entries: readonly (readonly [string, number, number])[]): CompactCounts {
  const b = new CompactCountsBuilder(2);
  for (const [token, spam, ham] of entries) b.addString(token, spam, ham);
  return b.build(500, 2500);
}

/** Two different strings with the same hashToken (a birthday search over short strings). */
function collision(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const s = `t${i.toString(36)}`;
    const h = hashToken(s);
    const other = seen.get(h);
    if (other !== undefined) return [other, s];
    seen.set(h, s);
  }
}

const TOKENS: [string, number, number][] = [
  ['viagra', 40, 0],
  ['via', 3, 9],
  ['viagr', 1, 0],
  ['bi:click here', 120, 4],
  ['', 7, 7],
  ['subject:free', 33, 1],
  ['café', 2, 5], // 2-byte character
  ['日本語', 4, 0], // 3-byte characters
  ['emoji:😀', 9, 1], // a surrogate pair
  ['lone:\ud800', 1, 1], // a lone surrogate
  ['lone:\udc00x', 2, 2],
  ['nul:\u0000', 5, 0],
  ['latin1:\u00ff\u0080', 0, 3],
  ['\uffff', 6, 6],
];

describe('CompactCounts', () => {
  it('finds every token exactly, with its counts and the message counts', () => {
    const t = table(TOKENS);
    assert.equal(t.size, TOKENS.length);
    assert.equal(t.nspam, 500);
    assert.equal(t.nham, 2500);
    for (const [token, spam, ham] of TOKENS) {
      assert.deepEqual(t.counts(token), [spam, ham], JSON.stringify(token));
      const i = t.indexOf(token);
      assert.equal(t.tokenAt(i), token);
      assert.equal(t.spamAt(i), spam);
      assert.equal(t.hamAt(i), ham);
    }
  });

  it('does not find tokens it does not hold: prefixes, extensions, case, other encodings', () => {
    const t = table(TOKENS);
    for (const token of [
      'viag',
      'viagraa',
      'Viagra',
      'cafe',
      'café'.normalize('NFD'), // e + combining accent: other code units
      'caf\u00e8',
      '日本',
      '日本語x',
      'emoji:😁',
      'emoji:\ud83d', // half of the pair
      'lone:\ud801',
      'lone:\udc00',
      'nul:',
      'nul:\u0000\u0000',
      'latin1:\u00ff',
      '\ufffe',
      ' ',
      'x'.repeat(1000),
    ])
      assert.equal(t.counts(token), undefined, JSON.stringify(token));
  });

  it('keeps two tokens with the same hash apart', () => {
    const [a, b] = collision();
    assert.notEqual(a, b);
    assert.equal(hashToken(a), hashToken(b));
    const t = table([
      [a, 1, 2],
      [b, 3, 4],
    ]);
    assert.deepEqual(t.counts(a), [1, 2]);
    assert.deepEqual(t.counts(b), [3, 4]);
    assert.equal(table([[a, 1, 2]]).counts(b), undefined);
  });

  it('stays exact when most tokens share a probe run (many tokens, a small table)', () => {
    const entries = Array.from({ length: 5000 }, (_v, i) => [`w${i}`, i, 5000 - i] as const);
    const t = table(entries);
    for (const [token, spam, ham] of entries) assert.deepEqual(t.counts(token), [spam, ham]);
    for (let i = 5000; i < 10000; i++) assert.equal(t.counts(`w${i}`), undefined);
  });

  it('keeps the last counts of a token added twice, as JSON.parse keeps the last of two keys', () => {
    const t = table([
      ['a', 1, 1],
      ['b', 2, 2],
      ['a', 3, 4],
    ]);
    assert.equal(t.size, 2);
    assert.deepEqual(t.counts('a'), [3, 4]);
    assert.deepEqual(t.counts('b'), [2, 2]);
  });

  it('holds counts of any size exactly, and −0 (which JSON allows) as −0', () => {
    for (const big of [0xffff, 0x10000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER, -0]) {
      const t = table([
        ['a', big, 0],
        ['b', 1, big],
      ]);
      assert.deepEqual(t.counts('a'), [big, 0]);
      assert.deepEqual(t.counts('b'), [1, big]);
    }
  });

  it('lists every entry', () => {
    const t = table(TOKENS);
    const listed = [...t.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1));
    const expected = TOKENS.map(([token, s, h]): [string, [number, number]] => [token, [s, h]]).sort(
      (x, y) => (x[0] < y[0] ? -1 : 1),
    );
    assert.deepEqual(listed, expected);
  });

  it('an empty table finds nothing', () => {
    const t = table([]);
    assert.equal(t.size, 0);
    assert.equal(t.counts(''), undefined);
    assert.equal(t.counts('a'), undefined);
  });
});

describe('CompactCountsBuilder.addBytes (tokens read from the model file)', () => {
  it('stores UTF-8 tokens as the strings they decode to', () => {
    const b = new CompactCountsBuilder();
    const tokens = TOKENS.filter(([token]) => token === Buffer.from(token).toString());
    for (const [token, spam, ham] of tokens) {
      const bytes = Buffer.concat([Buffer.from('xx'), Buffer.from(token), Buffer.from('yy')]);
      assert.equal(b.addBytes(bytes, 2, bytes.length - 2, spam, ham), true);
    }
    const t = b.build(1, 1);
    for (const [token, spam, ham] of tokens) assert.deepEqual(t.counts(token), [spam, ham]);
    assert.deepEqual(t.counts('emoji:\ud83d\ude00'), [9, 1]);
    assert.equal(t.counts('emoji:\ud83d'), undefined);
  });

  it('refuses bytes that are not well-formed UTF-8, and adds nothing', () => {
    for (const bad of [
      [0x80], // a lone continuation byte
      [0xc0, 0x80], // overlong NUL
      [0xc3], // truncated
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xf0, 0x80, 0x80, 0x80], // overlong
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0x61, 0xe6, 0x97], // truncated at the end
    ]) {
      const b = new CompactCountsBuilder();
      assert.equal(b.addBytes(Uint8Array.from(bad), 0, bad.length, 1, 1), false, String(bad));
      assert.equal(b.build(0, 0).size, 0);
    }
  });
});
