/**
 * model-json.ts — reads a model file's bytes in one pass, handing each entry
 * of its token table to a sink as a range of the bytes, so the table never
 * exists as 100,000 JavaScript objects, nor the file as one 4 MB string
 * (JSON.parse would build one array and one string per token, then the caller
 * a Map of them: about 40 MB at the peak for the shipped model). It allocates
 * nothing per token.
 *
 * Only the form the trainer writes is read this way: UTF-8, a top-level
 * object whose member `tokens` is an object of `"token": [spam, ham]`
 * entries, the counts written as plain non-negative integers. Every other
 * member is copied out and given to JSON.parse, which checks it. Anything else
 * (escapes in a top-level key, a second `tokens`, a count written `1.0`, `-3`
 * or `1e2`, bytes that are not UTF-8, invalid JSON) makes it give up, and the
 * caller parses the whole file with JSON.parse instead, which gives the same
 * values or the same error.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

/** Where the token table's entries go. */
export interface TokenSink {
  /** A token written without escapes: its UTF-8 bytes. False when they are not UTF-8 (the read gives up). */
  addBytes(bytes: Uint8Array, start: number, end: number, spam: number, ham: number): boolean;
  /** A token written with escapes, decoded. */
  addString(token: string, spam: number, ham: number): void;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** A position in the bytes and the steps of the trainer's form; each returns false (or −1) when the form is not met. */
class Reader {
  pos = 0;
  /** Set by string(): whether the string just read holds a backslash. */
  escaped = false;

  constructor(readonly bytes: Uint8Array) {}

  /** The byte at pos, or −1 at the end. */
  peek(): number {
    return this.pos < this.bytes.length ? (this.bytes[this.pos] ?? -1) : -1;
  }

  space(): void {
    const b = this.bytes;
    while (this.pos < b.length && isSpace(b[this.pos] ?? 0)) this.pos++;
  }

  /** Skips white space, then `c`. */
  expect(c: number): boolean {
    this.space();
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  /**
   * Reads a string at pos (white space first): returns the index of its
   * closing quote and leaves pos after it, or −1 when it does not end or holds
   * a control character.
   */
  string(): number {
    this.space();
    const b = this.bytes;
    if (this.peek() !== QUOTE) return -1;
    this.escaped = false;
    for (let j = this.pos + 1; j < b.length; j++) {
      const c = b[j] ?? 0;
      if (c === QUOTE) {
        this.pos = j + 1;
        return j;
      }
      if (c === BACKSLASH) {
        this.escaped = true;
        j++;
      } else if (c < 0x20) return -1;
    }
    return -1;
  }

  /** A plain non-negative integer of at most 15 digits (white space first), or −1. */
  count(): number {
    this.space();
    const b = this.bytes;
    const start = this.pos;
    let value = 0;
    let j = start;
    for (; j < b.length && j - start <= 15; j++) {
      const c = b[j] ?? 0;
      if (c < ZERO || c > NINE) break;
      value = value * 10 + (c - ZERO);
    }
    const digits = j - start;
    if (digits === 0 || digits > 15) return -1;
    if (digits > 1 && b[start] === ZERO) return -1; // a leading zero is not JSON
    const next = b[j];
    if (next === 0x2e || next === 0x65 || next === 0x45) return -1; // . e E: JSON.parse reads those
    this.pos = j;
    return value;
  }

  /**
   * Moves past a value of any kind and returns where it ends, or −1. Strings
   * and nesting are followed, nothing more: JSON.parse checks the value.
   */
  skipValue(): number {
    const b = this.bytes;
    let depth = 0;
    while (this.pos < b.length) {
      const c = b[this.pos] ?? 0;
      if (c === QUOTE) {
        if (this.string() < 0) return -1;
        if (depth === 0) return this.pos;
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (depth === 0) return this.pos; // the enclosing object ends: so does a number or literal
        if (--depth === 0) return ++this.pos;
      } else if (depth === 0 && (c === COMMA || isSpace(c))) return this.pos;
      this.pos++;
    }
    return depth === 0 ? this.pos : -1;
  }

  /** Bytes [start, end) decoded from UTF-8. */
  text(start: number, end: number): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, end - start).toString('utf8');
  }

  /** Reads the token table at pos into the sink; false when it is not in the trainer's form. */
  tokens(sink: TokenSink): boolean {
    if (!this.expect(OPEN_BRACE)) return false;
    this.space();
    if (this.peek() === CLOSE_BRACE) {
      this.pos++;
      return true;
    }
    for (;;) {
      const open = this.pos;
      const close = this.string();
      if (close < 0) return false;
      const escaped = this.escaped;
      if (!this.expect(COLON) || !this.expect(OPEN_BRACKET)) return false;
      const spam = this.count();
      if (spam < 0 || !this.expect(COMMA)) return false;
      const ham = this.count();
      if (ham < 0 || !this.expect(CLOSE_BRACKET)) return false;
      if (!escaped) {
        if (!sink.addBytes(this.bytes, open + 1, close, spam, ham)) return false;
      } else {
        let key: unknown;
        try {
          key = JSON.parse(this.text(open, close + 1));
        } catch {
          return false;
        }
        sink.addString(key as string, spam, ham);
      }
      this.space();
      const c = this.peek();
      this.pos++;
      if (c === CLOSE_BRACE) return true;
      if (c !== COMMA) return false;
      this.space();
    }
  }
}

/**
 * Reads a model file's bytes, handing each token to `sink`. Returns the other
 * top-level members (parsed by JSON.parse), or undefined when the file is not
 * in the trainer's form (see the file comment): the caller then parses it
 * whole, and must drop what the sink received.
 */
export function scanModelJson(bytes: Uint8Array, sink: TokenSink): Record<string, unknown> | undefined {
  const r = new Reader(bytes);
  if (!r.expect(OPEN_BRACE)) return undefined;
  const rest: [number, number][] = [];
  let tokens = false;
  for (;;) {
    r.space();
    const member = r.pos;
    const close = r.string();
    if (close < 0 || r.escaped || !r.expect(COLON)) return undefined;
    const name = r.text(member + 1, close);
    if (name === 'tokens') {
      if (tokens || !r.tokens(sink)) return undefined;
      tokens = true;
    } else {
      r.space();
      const end = r.skipValue();
      if (end < 0) return undefined;
      rest.push([member, end]);
    }
    r.space();
    const c = r.peek();
    r.pos++;
    if (c === CLOSE_BRACE) break;
    if (c !== COMMA) return undefined;
  }
  r.space();
  if (!tokens || r.pos !== bytes.length) return undefined;
  try {
    return JSON.parse(`{${rest.map(([start, end]) => r.text(start, end)).join(',')}}`) as Record<
      string,
      unknown
    >;
  } catch {
    return undefined;
  }
}
