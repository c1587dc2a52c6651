/**
 * tokenize.ts — turns a parsed message into the set of features the
 * classifier weighs: body words (and optionally word pairs), subject words,
 * a few sender-side header facts, link hosts, and coarse text statistics.
 *
 * Deliberate omissions, so that the shipped model generalizes beyond its
 * training corpus: no Received, Delivered-To, Return-Path or List-* tokens
 * (they describe the receiving side's infrastructure, not the message), no
 * Date tokens, and no "this part is HTML" or markup tokens (the 2002 training
 * ham is almost all plain text, so markup would be learnt as spam and punish
 * every legitimate HTML newsletter or receipt). Each token counts once per
 * message.
 */
import { endianness } from 'node:os';
import { decodeWords, firstField, type Field } from './mime/headers.js';
import type { MessageText } from './mime/message.js';
import { splitText, type Yielder } from './yield.js';

/** Tokenizer switches; stored in the model so scanning uses what training used. */
export interface TokenizerOptions {
  /** Also emit adjacent word pairs (`bi:a b`). */
  readonly bigrams: boolean;
  /** Longer words become `skip:` length tokens. */
  readonly maxWordLength: number;
}

export const DEFAULT_TOKENIZER: TokenizerOptions = { bigrams: true, maxWordLength: 12 };

/**
 * Characters of each text part that are tokenized (SpamAssassin's
 * body_part_scan_size is the same 50,000): the signal is at the top, and a
 * 100 KB newsletter should not cost three times a 5 KB note.
 */
export const TEXT_PER_PART = 50_000;

const URL_RE = /\b(?:(?:https?|ftp):\/\/|www\.)[^\s<>"'`)\]]+/gi;
const EMAIL_RE = /[\w.+-]+@([\w-]+(?:\.[\w-]+)+)/g;

/**
 * Tokenizes a parsed message.
 *
 * @example
 * const tokens = await tokenize(await readMessage(raw, y), DEFAULT_TOKENIZER, y);
 */
export async function tokenize(
  msg: MessageText,
  opts: TokenizerOptions,
  yielder: Yielder,
): Promise<Set<string>> {
  const tokens = new Set<string>();
  headerTokens(msg.fields, tokens);
  for (const cs of msg.charsets) tokens.add('charset:' + cs);
  for (const part of msg.parts) {
    if (part.type.startsWith('text/')) continue;
    tokens.add('part:' + part.type);
    const ext = part.filename ? /\.([a-z0-9]{1,6})$/i.exec(part.filename)?.[1] : undefined;
    if (ext) tokens.add('file:ext:' + ext.toLowerCase());
  }
  for (const link of msg.links) urlTokens(link, tokens);
  const stats = { letters: 0, upper: 0, nonAscii: 0, chars: 0, urls: msg.links.length };
  const scripts = new Map<string, number>();
  const chars = msg.texts.reduce((n, text) => n + Math.min(text.length, TEXT_PER_PART), 0);
  const words = new WordTokenizer('', opts, tokens, 3, slotsFor(chars));
  for (const text of msg.texts) {
    for (const piece of splitText(text.length > TEXT_PER_PART ? text.slice(0, TEXT_PER_PART) : text)) {
      bodyTokens(piece, words, tokens, stats, scripts);
      await yielder.tick();
    }
  }
  statTokens(stats, scripts, tokens);
  if (msg.malformed) tokens.add('mime:malformed');
  return tokens;
}

/** Characters stripped from the start of a word (the set of the former `^[("'[{<*.,;:?~`|=_#-]+`). */
const LEAD = charTable('("\'[{<*.,;:?~`|=_#-');
/** Characters stripped from the end of a word (the former `[)"'\]}>*.,;:?~`|=_#-]+$`). */
const TRAIL = charTable(')"\']}>*.,;:?~`|=_#-');

function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

function inTable(table: Uint8Array, c: number): boolean {
  return c < 128 && table[c] === 1;
}

/** True for the code units that `\s` matches in a JavaScript regular expression. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * Adds word tokens (and pairs) for one piece of text, with `prefix` on each.
 *
 * Words are the runs between whitespace (`\s`), with leading `("'[{<*.,;:?~\`|=_#-`
 * and trailing `)"']}>*.,;:?~\`|=_#-` stripped, then lower-cased. Scanned by
 * hand rather than with split() and two replace() per word: this is the
 * tokenizer's hot loop, and the tokens are exactly the same.
 *
 * @example
 * wordTokens('Hello, World!', '', DEFAULT_TOKENIZER, tokens) // hello, world!, bi:hello world!
 */
export function wordTokens(
  text: string,
  prefix: string,
  opts: TokenizerOptions,
  tokens: Set<string>,
  minLength = 3,
): void {
  new WordTokenizer(prefix, opts, tokens, minLength).add(text);
}

/** Letter statistics that WordTokenizer.add counts in ASCII text. */
export interface LetterCounts {
  letters: number;
  upper: number;
}

/** utf16le (how codeUnits copies) is little-endian; a Uint16Array reads the machine's order. */
const BIG_ENDIAN = endianness() === 'BE';

/**
 * The code units of the text being added, copied out of the string in one
 * native step: the word loop reads every code unit two or three times, and a
 * typed array read is a plain load where `charCodeAt` checks the string's
 * representation each time. Shared by every tokenizer (add() never awaits);
 * it grows to the longest text seen (a text part is cut at 50,000 characters).
 */
let units = new Uint16Array(4096);
let unitBytes = Buffer.from(units.buffer);

function codeUnits(text: string): Uint16Array {
  if (text.length > units.length) {
    units = new Uint16Array(powerOfTwoAtLeast(text.length));
    unitBytes = Buffer.from(units.buffer);
  }
  unitBytes.write(text, 0, 'utf16le');
  if (BIG_ENDIAN) unitBytes.subarray(0, 2 * text.length).swap16();
  return units;
}

/** Room in a new WordTokenizer's tables (they double when half full): a subject needs no more. */
const INITIAL_SLOTS = 64;

/**
 * Starting room for a tokenizer that will read `chars` characters: a slot per
 * 16 characters, from 64 to 4,096, so that a body's tables do not double
 * their way up from 64 (8 % of a 5 KB scan; with this, 5 KB scans took 6 %
 * less). Not more: a table that outgrows the CPU's cache costs more in
 * misses than doublings do (a slot per 4 characters, up to 16,384, made a
 * 100 KB scan twice as slow).
 */
function slotsFor(chars: number): number {
  return Math.min(4096, Math.max(INITIAL_SLOTS, powerOfTwoAtLeast(chars / 16)));
}

/** The smallest power of two that is at least `n` (1 for n ≤ 1). */
function powerOfTwoAtLeast(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * wordTokens for many pieces of text into one token set (a message's body),
 * remembering which words and pairs it has already added. Text repeats its
 * words: most words of a message, and most of their pairs, were added before,
 * and adding them again cannot change the set. So an ASCII word is looked up
 * by its characters in the text, case folded on the fly (what toLowerCase()
 * does to ASCII), and a pair by the numbers of its two words; only a word or
 * pair not seen yet becomes a string and goes to the set. The tokens, and the
 * order in which the set first receives them, are those of wordTokens.
 */
export class WordTokenizer {
  /** Each word seen, lower-cased, by number. */
  readonly #words: string[] = [];
  /** Hash of each ASCII word (by number), to skip most string comparisons. */
  #wordHashes: Int32Array;
  /** Open addressing (linear probing) over ASCII words: word number + 1, 0 when empty. */
  #wordSlots: Int32Array;
  #asciiWords = 0;
  /** Words with a code unit above 0x7F, lower-cased as a whole. */
  readonly #wideWords = new Map<string, number>();
  /** Pairs seen: first word's number + 1 (0 when empty) and second word's number. */
  #pairFirst: Int32Array;
  #pairSecond: Int32Array;
  #pairCount = 0;

  /** `slots`: the tables' starting room, a power of two (see slotsFor); they double when half full. */
  constructor(
    private readonly prefix: string,
    private readonly opts: TokenizerOptions,
    private readonly tokens: Set<string>,
    private readonly minLength = 3,
    slots = INITIAL_SLOTS,
  ) {
    this.#wordHashes = new Int32Array(slots);
    this.#wordSlots = new Int32Array(slots);
    this.#pairFirst = new Int32Array(slots);
    this.#pairSecond = new Int32Array(slots);
  }

  /**
   * Adds the words of one piece of text (pairs never span two pieces). When
   * every character of its words is ASCII, adds its letters (A–Z, a–z) and
   * capitals (A–Z) to `letters` and returns true: the letter statistics need
   * them, this loop reads every character anyway, and whitespace is never a
   * letter. Otherwise returns false and counts nothing.
   */
  add(text: string, letters?: LetterCounts): boolean {
    const { prefix, opts, tokens, minLength } = this;
    const maxLength = opts.maxWordLength;
    let previous = -1;
    const n = text.length;
    const u = codeUnits(text);
    let i = 0;
    let allBits = 0;
    let letterCount = 0;
    let upperCount = 0;
    while (i < n) {
      while (i < n && isSpace(u[i] ?? 0)) i++;
      if (i === n) break;
      let start = i;
      // The code units of the run, or'ed: below 0x80 when all of them are ASCII.
      let bits = 0;
      for (let c = u[i] ?? 0; !isSpace(c); c = u[i] ?? 0) {
        bits |= c;
        // c | 0x20 is a–z for A–Z and a–z only; bit 0x20 is clear in a capital.
        if (((c | 0x20) - 0x61) >>> 0 < 26) {
          letterCount++;
          if ((c & 0x20) === 0) upperCount++;
        }
        if (++i === n) break;
      }
      allBits |= bits;
      let end = i;
      while (start < end && inTable(LEAD, u[start] ?? 0)) start++;
      while (end > start && inTable(TRAIL, u[end - 1] ?? 0)) end--;
      let id: number;
      // Stripping removes ASCII only: an ASCII run is an ASCII word, and toLowerCase() keeps its length.
      if (bits < 0x80) {
        const length = end - start;
        if (length < minLength) {
          previous = -1;
          continue;
        }
        if (length > maxLength) {
          tokens.add(`${prefix}skip:${asciiClass(u[start] ?? 0)}${Math.floor(length / 10) * 10}`);
          previous = -1;
          continue;
        }
        id = this.#asciiWord(text, u, start, end);
      } else {
        const word = text.slice(start, end).toLowerCase();
        if (word.length < minLength) {
          previous = -1;
          continue;
        }
        if (word.length > maxLength) {
          tokens.add(`${prefix}skip:${charClass(word)}${Math.floor(word.length / 10) * 10}`);
          previous = -1;
          continue;
        }
        id = this.#wideWord(word);
      }
      if (opts.bigrams && previous >= 0 && this.#newPair(previous, id)) {
        // The same string as `${prefix}bi:${a} ${b}`, but join() writes it out
        // in one piece, where V8 makes a concatenation a rope: the model
        // lookup reads every token code unit by code unit, slower in a rope,
        // and flattening it there costs a copy anyway.
        tokens.add([`${prefix}bi:${this.#words[previous] ?? ''}`, this.#words[id] ?? ''].join(' '));
      }
      previous = id;
    }
    if (allBits >= 0x80) return false;
    if (letters) {
      letters.letters += letterCount;
      letters.upper += upperCount;
    }
    return true;
  }

  /** The number of the ASCII word text[start, end) (`u`: its code units), lower-cased; a new word goes to the set. */
  #asciiWord(text: string, u: Uint16Array, start: number, end: number): number {
    let h = FNV_OFFSET;
    for (let k = start; k < end; k++) h = Math.imul(h ^ lowerAscii(u[k] ?? 0), FNV_PRIME);
    const slots = this.#wordSlots;
    const mask = slots.length - 1;
    const length = end - start;
    for (let slot = spread(h) & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[slot] ?? 0;
      if (entry === 0) break;
      if (this.#wordHashes[entry - 1] !== h) continue;
      const word = this.#words[entry - 1] ?? '';
      if (word.length !== length) continue;
      let k = 0;
      while (k < length && word.charCodeAt(k) === lowerAscii(u[start + k] ?? 0)) k++;
      if (k === length) return entry - 1;
    }
    const id = this.#newWord(text.slice(start, end).toLowerCase());
    this.#wordHashes[id] = h;
    if (2 * (this.#asciiWords + 1) > slots.length) this.#growWords();
    this.#placeWord(id);
    return id;
  }

  /** The number of a word with a code unit above 0x7F (lower-cased already); a new word goes to the set. */
  #wideWord(word: string): number {
    const known = this.#wideWords.get(word);
    if (known !== undefined) return known;
    const id = this.#newWord(word);
    this.#wideWords.set(word, id);
    return id;
  }

  /** Numbers a word not seen before and adds its token. */
  #newWord(word: string): number {
    const id = this.#words.length;
    this.#words.push(word);
    if (id >= this.#wordHashes.length) {
      const hashes = new Int32Array(2 * this.#wordHashes.length);
      hashes.set(this.#wordHashes);
      this.#wordHashes = hashes;
    }
    this.tokens.add(this.prefix + word);
    return id;
  }

  #placeWord(id: number): void {
    const slots = this.#wordSlots;
    const mask = slots.length - 1;
    let slot = spread(this.#wordHashes[id] ?? 0) & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = id + 1;
    this.#asciiWords++;
  }

  /** Doubles the word table (the hashes are kept: no word is read again). */
  #growWords(): void {
    const old = this.#wordSlots;
    this.#wordSlots = new Int32Array(2 * old.length);
    this.#asciiWords = 0;
    for (const entry of old) if (entry !== 0) this.#placeWord(entry - 1);
  }

  /** True the first time the pair (a, b) of word numbers is seen. */
  #newPair(a: number, b: number): boolean {
    const first = this.#pairFirst;
    const mask = first.length - 1;
    for (let slot = pairHash(a, b) & mask; ; slot = (slot + 1) & mask) {
      const f = first[slot] ?? 0;
      if (f === 0) break;
      if (f === a + 1 && this.#pairSecond[slot] === b) return false;
    }
    if (2 * (this.#pairCount + 1) > first.length) this.#growPairs();
    this.#placePair(a, b);
    return true;
  }

  #placePair(a: number, b: number): void {
    const first = this.#pairFirst;
    const mask = first.length - 1;
    let slot = pairHash(a, b) & mask;
    while (first[slot] !== 0) slot = (slot + 1) & mask;
    first[slot] = a + 1;
    this.#pairSecond[slot] = b;
    this.#pairCount++;
  }

  /** Doubles the pair table. */
  #growPairs(): void {
    const first = this.#pairFirst;
    const second = this.#pairSecond;
    this.#pairFirst = new Int32Array(2 * first.length);
    this.#pairSecond = new Int32Array(2 * first.length);
    this.#pairCount = 0;
    for (let slot = 0; slot < first.length; slot++) {
      const f = first[slot] ?? 0;
      if (f !== 0) this.#placePair(f - 1, second[slot] ?? 0);
    }
  }
}

/** Table slot bits from a hash: the high bits folded into the low ones that pick the slot. */
function spread(h: number): number {
  return h ^ (h >>> 16);
}

/** A hash of two word numbers. */
function pairHash(a: number, b: number): number {
  return spread(Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca6b));
}

/** What toLowerCase() makes of an ASCII code unit. */
function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** charClass of an ASCII word, from its first code unit. */
function asciiClass(c: number): string {
  const lower = lowerAscii(c);
  if (lower >= 0x61 && lower <= 0x7a) return 'a';
  return c >= 0x30 && c <= 0x39 ? 'd' : 'p';
}

function charClass(word: string): string {
  const c = word.codePointAt(0) ?? 0;
  if (c < 0x80) return /[a-z]/.test(word[0] ?? '') ? 'a' : /\d/.test(word[0] ?? '') ? 'd' : 'p';
  return 'u';
}

interface Stats {
  letters: number;
  upper: number;
  nonAscii: number;
  chars: number;
  urls: number;
}

function bodyTokens(
  text: string,
  words: WordTokenizer,
  tokens: Set<string>,
  stats: Stats,
  scripts: Map<string, number>,
): void {
  const withoutUrls = text.replace(URL_RE, (url) => {
    urlTokens(url, tokens);
    stats.urls++;
    return ' ';
  });
  // The address pattern is costly on long text: only where an address can be.
  const plain = withoutUrls.includes('@')
    ? withoutUrls.replace(EMAIL_RE, (_all, domain: string) => {
        tokens.add('email:' + domain.toLowerCase());
        return ' ';
      })
    : withoutUrls;
  stats.chars += plain.length;
  // Words all ASCII (most mail): the word scan counted the letters, A–Z and
  // a–z, and the capitals, A–Z, as letterStats would; there are no scripts.
  if (!words.add(plain, stats)) letterStats(plain, stats, scripts);
}

/** Counts letters, capitals and non-ASCII letters by runs of letters; a run counts for the script of its first letter. */
function letterStats(plain: string, stats: Stats, scripts: Map<string, number>): void {
  for (const m of plain.matchAll(/\p{L}+/gu)) {
    const run = m[0];
    stats.letters += run.length;
    stats.upper += upperCount(run);
    const code = run.codePointAt(0) ?? 0;
    if (code >= 0x80) {
      stats.nonAscii += run.length;
      const script = scriptOf(code);
      scripts.set(script, (scripts.get(script) ?? 0) + run.length);
    }
  }
}

/** Letters that change when lower-cased (one string per run, not one per letter, when it can). */
function upperCount(run: string): number {
  const lower = run.toLowerCase();
  if (lower === run) return 0;
  let n = 0;
  if (lower.length === run.length && !/[\uD800-\uDFFF]/.test(run)) {
    for (let i = 0; i < run.length; i++) if (run.charCodeAt(i) !== lower.charCodeAt(i)) n++;
    return n;
  }
  for (const ch of run) if (ch !== ch.toLowerCase()) n++;
  return n;
}

function scriptOf(code: number): string {
  if (code >= 0x0400 && code <= 0x04ff) return 'cyrillic';
  if (code >= 0x3040 && code <= 0x30ff) return 'kana';
  if (code >= 0xac00 && code <= 0xd7af) return 'hangul';
  if (code >= 0x4e00 && code <= 0x9fff) return 'han';
  if (code < 0x0250) return 'latin';
  return 'other';
}

function bucket(value: number, edges: readonly number[]): string {
  let label = '0';
  for (const edge of edges) if (value >= edge) label = String(edge);
  return label;
}

function statTokens(stats: Stats, scripts: Map<string, number>, tokens: Set<string>): void {
  if (stats.letters >= 40)
    tokens.add('stat:caps:' + bucket((100 * stats.upper) / stats.letters, [5, 10, 20, 35, 50]));
  if (stats.letters >= 40)
    tokens.add('stat:nonascii:' + bucket((100 * stats.nonAscii) / stats.letters, [1, 10, 30, 60]));
  tokens.add('stat:urls:' + bucket(stats.urls, [1, 2, 4, 8, 16]));
  if (stats.chars < 20) tokens.add('stat:empty');
  for (const [script, count] of scripts)
    if (count >= 20 && script !== 'latin') tokens.add('script:' + script);
}

/** Host tokens for a link: every parent domain, numeric hosts, ports, user-info tricks. */
export function urlTokens(link: string, tokens: Set<string>): void {
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/|(www\.))([^/?#\s]*)/i.exec(link.trim());
  if (!m) {
    if (/^mailto:/i.test(link)) tokens.add('url:mailto');
    return;
  }
  tokens.add('url:proto:' + (m[1] ?? 'http').toLowerCase());
  let host = (m[2] ?? '') + (m[3] ?? '');
  if (host.includes('@')) {
    tokens.add('url:userinfo');
    host = host.slice(host.lastIndexOf('@') + 1);
  }
  if (host.includes('%')) tokens.add('url:escaped-host');
  const port = /:(\d+)$/.exec(host);
  if (port) {
    tokens.add('url:port');
    host = host.slice(0, port.index);
  }
  host = host.toLowerCase().replace(/\.$/, '');
  if (/^\d+(?:\.\d+){3}$/.test(host) || /^\d{8,}$/.test(host)) {
    tokens.add('url:ip');
    return;
  }
  const labels = host.split('.').filter(Boolean);
  for (let i = Math.max(0, labels.length - 4); i < labels.length - 1; i++)
    tokens.add('url:' + labels.slice(i).join('.'));
}

function headerTokens(fields: Field[], tokens: Set<string>): void {
  const subject = decodeWords(firstField(fields, 'subject') ?? '');
  if (!subject.trim()) tokens.add('subject:none');
  wordTokens(subject, 'subject:', { bigrams: false, maxWordLength: 20 }, tokens, 2);
  const letters = subject.replace(/[^\p{L}]/gu, '');
  if (letters.length >= 8 && letters === letters.toUpperCase() && letters !== letters.toLowerCase())
    tokens.add('subject:stat:allcaps');
  if (/!/.test(subject)) tokens.add('subject:stat:exclaim');
  if (/\$\s?\d|\d\s?%/.test(subject)) tokens.add('subject:stat:money');
  if (/\s{3,}\S+$/.test(subject) || /[\s_-]{2,}[#(]?[a-z0-9]{3,}[)]?$/i.test(subject))
    tokens.add('subject:stat:tail-tag');

  const from = decodeWords(firstField(fields, 'from') ?? '');
  const addr = /<([^>]*)>/.exec(from)?.[1] ?? /\S+@\S+/.exec(from)?.[0] ?? '';
  const domain = addr.includes('@')
    ? addr
        .slice(addr.lastIndexOf('@') + 1)
        .toLowerCase()
        .replace(/[>)\s]/g, '')
    : '';
  tokens.add(domain ? 'from:domain:' + domain : 'from:noaddr');
  const name = from
    .replace(/<[^>]*>/g, '')
    .replace(/\S+@\S+/g, '')
    .replace(/["()]/g, ' ')
    .trim();
  if (name) wordTokens(name, 'from:name:', { bigrams: false, maxWordLength: 20 }, tokens, 2);
  else tokens.add('from:noname');

  const replyTo = firstField(fields, 'reply-to');
  if (replyTo) {
    const rdomain = /@([\w.-]+)/.exec(replyTo)?.[1]?.toLowerCase();
    tokens.add(rdomain && rdomain === domain ? 'reply-to:same-domain' : 'reply-to:other-domain');
  }
  const recipients = [...fields.filter((f) => f.name === 'to' || f.name === 'cc')]
    .map((f) => f.value)
    .join(',');
  const count = (recipients.match(/@/g) ?? []).length;
  tokens.add('to:count:' + bucket(count, [1, 2, 6, 20]));
  if (/undisclosed|recipient list suppressed/i.test(recipients)) tokens.add('to:undisclosed');

  const mailer = firstField(fields, 'x-mailer') ?? firstField(fields, 'user-agent');
  if (mailer) {
    for (const word of mailer
      .toLowerCase()
      .replace(/[\d.]+/g, ' ')
      .split(/[^a-z]+/)
      .filter((w) => w.length >= 2)
      .slice(0, 3))
      tokens.add('mailer:' + word);
  } else tokens.add('mailer:none');

  const mid = firstField(fields, 'message-id');
  tokens.add(!mid ? 'mid:none' : /<[^@>\s]+@[^@>\s]+\.[^@>\s]+>/.test(mid) ? 'mid:ok' : 'mid:odd');
  const cte = firstField(fields, 'content-transfer-encoding');
  if (cte) tokens.add('cte:' + cte.trim().toLowerCase());
}
