/**
 * tokenize.test.ts — the hand-written word scanner and its memory of words
 * and pairs against the plain definition of a word (split, two regular
 * expressions, toLowerCase), on seeded random text: the same tokens, first
 * added in the same order; and the letters it counts on the way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TOKENIZER, WordTokenizer, wordTokens, type TokenizerOptions } from './tokenize.js';

/** The definition of wordTokens, written the straightforward way. */
function plainWordTokens(
  text: string,
  prefix: string,
  opts: TokenizerOptions,
  tokens: Set<string>,
  minLength = 3,
): void {
  let previous: string | undefined;
  for (const raw of text.split(/\s+/)) {
    if (raw === '') continue;
    const word = raw
      .replace(/^[("'[{<*.,;:?~`|=_#-]+/, '')
      .replace(/[)"'\]}>*.,;:?~`|=_#-]+$/, '')
      .toLowerCase();
    if (word.length < minLength) {
      previous = undefined;
      continue;
    }
    if (word.length > opts.maxWordLength) {
      const c = word.codePointAt(0) ?? 0;
      const cls = c >= 0x80 ? 'u' : /[a-z]/.test(word[0] ?? '') ? 'a' : /\d/.test(word[0] ?? '') ? 'd' : 'p';
      tokens.add(`${prefix}skip:${cls}${Math.floor(word.length / 10) * 10}`);
      previous = undefined;
      continue;
    }
    tokens.add(prefix + word);
    if (opts.bigrams && previous !== undefined) tokens.add(`${prefix}bi:${previous} ${word}`);
    previous = word;
  }
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Text from a small vocabulary (so words and pairs repeat), in varied case,
 * with punctuation that is and is not stripped, every kind of `\s`, non-ASCII
 * letters whose lower case is ASCII (K, the Kelvin sign), longer (İ) or
 * depends on context (Σ), lone and paired surrogates, and long words.
 */
function randomText(next: () => number, length: number): string {
  const vocabulary = [
    'the',
    'The',
    'THE',
    'meeting',
    'Meeting',
    'a',
    'ok',
    'Fr',
    'report',
    'REPORT',
    'Straße',
    'ΣΟΦΟΣ',
    'σοφος',
    '\u212Aey',
    'key',
    'KEY',
    'İstanbul',
    'istanbul',
    'naïve',
    '日本語',
    '\uD83D\uDE00ok',
    'x\uD800y',
    'supercalifragilistic',
    'SUPERCALIFRAGILISTIC',
    '0123456789012345',
    'ÉCOLEPOLYTECHNIQUE',
    '(--',
    '...',
    'a-b-c',
    '#1',
    'ünïcödé',
  ];
  const marks = ['', '', '', '(', '"', "'", '[', '*', '.', ',', '!', '?', ')', '--', '<', '>', '_', '@', '/'];
  const spaces = [' ', ' ', ' ', '\n', '\r\n', '\t', '\u00a0', '\u2003', '\u3000', '\ufeff', '\u000b', '  '];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  let text = '';
  while (text.length < length) text += pick(marks) + pick(vocabulary) + pick(marks) + pick(spaces);
  return text;
}

const OPTIONS: TokenizerOptions[] = [
  DEFAULT_TOKENIZER,
  { bigrams: false, maxWordLength: 20 },
  { bigrams: true, maxWordLength: 4 },
];

describe('wordTokens', () => {
  it('gives the tokens of the plain definition, in the same order', () => {
    const next = rng(42);
    for (let round = 0; round < 300; round++) {
      const text = randomText(next, 1 + Math.floor(next() * 400));
      const opts = OPTIONS[round % OPTIONS.length] ?? DEFAULT_TOKENIZER;
      const minLength = round % 5 === 0 ? 2 : 3;
      const prefix = round % 7 === 0 ? 'subject:' : '';
      const expected = new Set<string>();
      plainWordTokens(text, prefix, opts, expected, minLength);
      const actual = new Set<string>();
      wordTokens(text, prefix, opts, actual, minLength);
      assert.deepEqual([...actual], [...expected], JSON.stringify(text));
    }
  });

  it('remembers words and pairs across pieces, without pairing over a piece boundary', () => {
    const next = rng(7);
    for (let round = 0; round < 100; round++) {
      const opts = OPTIONS[round % OPTIONS.length] ?? DEFAULT_TOKENIZER;
      // Tokens already in the set (another source's) must not upset the order either.
      const expected = new Set<string>(['the', 'bi:the meeting']);
      const actual = new Set<string>(expected);
      const words = new WordTokenizer('', opts, actual);
      // Enough pieces, and words, for the tables to grow several times.
      for (let piece = 0; piece < 8; piece++) {
        const text = randomText(next, Math.floor(next() * 3000)) + `w${String(round)}x${String(piece)}y `;
        plainWordTokens(text, '', opts, expected);
        words.add(text);
      }
      assert.deepEqual([...actual], [...expected]);
    }
  });

  it('counts letters and capitals when every character of the words is ASCII', () => {
    const next = rng(99);
    const asciiVocabulary = ['Hello', 'WORLD', 'x1', '(Ok)', 'a.b', 'Zz', '@', '~9', 'AZaz[`{'];
    const spaces = [' ', '\n', '\t', '\u00a0', '\u2003'];
    for (let round = 0; round < 300; round++) {
      const text =
        round % 2 === 0
          ? randomText(next, Math.floor(next() * 200))
          : Array.from(
              { length: Math.floor(next() * 40) },
              () =>
                (asciiVocabulary[Math.floor(next() * asciiVocabulary.length)] ?? '') +
                (spaces[Math.floor(next() * spaces.length)] ?? ''),
            ).join('');
      const counts = { letters: 1, upper: 2 };
      const ascii = new WordTokenizer('', DEFAULT_TOKENIZER, new Set()).add(text, counts);
      assert.equal(ascii, !/[^\s\x00-\x7f]/.test(text), JSON.stringify(text));
      if (ascii) {
        assert.equal(counts.letters, 1 + (text.match(/[a-z]/gi) ?? []).length);
        assert.equal(counts.upper, 2 + (text.match(/[A-Z]/g) ?? []).length);
      } else assert.deepEqual(counts, { letters: 1, upper: 2 });
    }
  });

  it('grows its tables past many distinct words and pairs', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `Word${String(i % 1700)}`).join(' ');
    const expected = new Set<string>();
    plainWordTokens(text, '', DEFAULT_TOKENIZER, expected);
    const actual = new Set<string>();
    wordTokens(text, '', DEFAULT_TOKENIZER, actual);
    assert.deepEqual([...actual], [...expected]);
  });
});
