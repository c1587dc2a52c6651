/**
 * compact.ts — a read-only token table in a few typed arrays: the in-memory
 * form of a shipped (or configured) model. About 3 MB for the shipped model's
 * 99,000 tokens, where a Map of strings to count pairs takes about 13 MB of
 * heap and 100,000 objects for the garbage collector to trace.
 *
 * Layout, for n tokens:
 * - `bytes`: every token's UTF-16 code units one after another, each code unit
 *   written as UTF-8 writes a character of that value (1 byte below 0x80, 2
 *   below 0x800, else 3; a surrogate is written alone, as CESU-8 does), so
 *   any JavaScript string is stored exactly, lone surrogates included, and
 *   ASCII costs one byte a character;
 * - `offsets` (n + 1): token i is bytes[offsets[i], offsets[i + 1]);
 * - `counts` (2n): token i's spam count at 2i, its ham count at 2i + 1 (one
 *   cache line for both), in the narrowest typed array that holds every count
 *   exactly (Uint16Array for the shipped model);
 * - `slots`: an open-addressing hash table (linear probing, at most half
 *   full) of token indices + 1, 0 for an empty slot, picked by the top bits
 *   of an FNV-1a hash of the UTF-16 code units (hashToken).
 *
 * Lookups are exact: a probe compares the looked-up string with the stored
 * bytes code unit by code unit, without allocating, so two tokens with the
 * same hash never share counts. It costs ~25 ns more than Map.get, which
 * reuses the hash V8 keeps in the string (scripts/lookup-speed.mjs: ~8 µs for
 * the 300 tokens of a 5 KB message). No I/O; model.ts fills a builder while it
 * reads the model file.
 */
import type { CountSource, Counts } from './model.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The table's hash: FNV-1a over the token's UTF-16 code units taken two at a
 * time (one 32-bit word per pair: half the steps of one per code unit), and
 * the length last. Its top bits pick the slot: a multiplicative hash mixes
 * upwards.
 */
export function hashToken(s: string): number {
  const n = s.length;
  let h = FNV_OFFSET;
  let i = 0;
  for (; i + 1 < n; i += 2) h = Math.imul(h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)), FNV_PRIME);
  if (i < n) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return Math.imul(h ^ n, FNV_PRIME) >>> 0;
}

/** hashToken of the token stored in bytes[start, end). */
function hashStored(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  let n = 0;
  let pending = -1;
  for (let p = start; p < end; n++) {
    const b = bytes[p] ?? 0;
    let unit: number;
    if (b < 0x80) {
      unit = b;
      p += 1;
    } else if (b < 0xe0) {
      unit = ((b & 0x1f) << 6) | ((bytes[p + 1] ?? 0) & 0x3f);
      p += 2;
    } else {
      unit = ((b & 0x0f) << 12) | (((bytes[p + 1] ?? 0) & 0x3f) << 6) | ((bytes[p + 2] ?? 0) & 0x3f);
      p += 3;
    }
    if (pending < 0) pending = unit;
    else {
      h = Math.imul(h ^ (pending | (unit << 16)), FNV_PRIME);
      pending = -1;
    }
  }
  if (pending >= 0) h = Math.imul(h ^ pending, FNV_PRIME);
  return Math.imul(h ^ n, FNV_PRIME) >>> 0;
}

type CountArray = Uint16Array | Uint32Array | Float64Array;

/** The narrowest typed array that holds `values` (non-negative integers, the largest `max`) exactly. */
function narrow(values: Float64Array, max: number): CountArray {
  if (max <= 0xffff) return Uint16Array.from(values);
  if (max <= 0xffffffff) return Uint32Array.from(values);
  return values.slice();
}

/** A read-only token → (spam, ham) table; build it with {@link CompactCountsBuilder}. */
export class CompactCounts implements CountSource {
  readonly #bytes: Uint8Array;
  readonly #offsets: Uint32Array;
  readonly #counts: CountArray;
  readonly #slots: Int32Array;
  /** 32 − log2(slots): the hash's top bits are the slot. */
  readonly #shift: number;
  readonly #mask: number;
  readonly #size: number;

  constructor(
    readonly nspam: number,
    readonly nham: number,
    parts: {
      bytes: Uint8Array;
      offsets: Uint32Array;
      counts: CountArray;
      slots: Int32Array;
    },
  ) {
    this.#bytes = parts.bytes;
    this.#offsets = parts.offsets;
    this.#counts = parts.counts;
    this.#slots = parts.slots;
    this.#mask = parts.slots.length - 1;
    this.#shift = 32 - Math.log2(parts.slots.length);
    let size = 0;
    for (const slot of parts.slots) if (slot !== 0) size++;
    this.#size = size;
  }

  /** Distinct tokens. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the table's arrays. */
  get byteLength(): number {
    return (
      this.#bytes.byteLength + this.#offsets.byteLength + this.#counts.byteLength + this.#slots.byteLength
    );
  }

  counts(token: string): Counts | undefined {
    const i = this.indexOf(token);
    return i < 0 ? undefined : [this.#counts[2 * i] ?? 0, this.#counts[2 * i + 1] ?? 0];
  }

  /** The index of a token (for spamAt/hamAt), or −1 when it is not in the table. */
  indexOf(token: string): number {
    const n = token.length;
    // hashToken, inlined: this is the scanner's hot loop.
    let h = FNV_OFFSET;
    let i = 0;
    for (; i + 1 < n; i += 2)
      h = Math.imul(h ^ (token.charCodeAt(i) | (token.charCodeAt(i + 1) << 16)), FNV_PRIME);
    if (i < n) h = Math.imul(h ^ token.charCodeAt(i), FNV_PRIME);
    h = Math.imul(h ^ n, FNV_PRIME);
    const slots = this.#slots;
    const offsets = this.#offsets;
    const bytes = this.#bytes;
    const mask = this.#mask;
    for (let slot = h >>> this.#shift; ; slot = (slot + 1) & mask) {
      const entry = slots[slot] ?? 0;
      if (entry === 0) return -1;
      // Token entry − 1 is bytes[offsets[entry − 1], offsets[entry]).
      const start = offsets[entry - 1] ?? 0;
      const length = (offsets[entry] ?? 0) - start;
      if (length === n) {
        // One byte per code unit: the stored token is ASCII, and so must the looked-up one be.
        let k = 0;
        while (k < n && bytes[start + k] === token.charCodeAt(k)) k++;
        if (k === n) return entry - 1;
      } else if (length > n && length <= 3 * n && equalsWide(bytes, start, start + length, token)) {
        return entry - 1;
      }
    }
  }

  spamAt(index: number): number {
    return this.#counts[2 * index] ?? 0;
  }

  hamAt(index: number): number {
    return this.#counts[2 * index + 1] ?? 0;
  }

  /** Every token and its counts, in no particular order. */
  *entries(): IterableIterator<[string, Counts]> {
    for (const slot of this.#slots) {
      if (slot === 0) continue;
      const i = slot - 1;
      yield [this.tokenAt(i), [this.spamAt(i), this.hamAt(i)]];
    }
  }

  /** The token stored at an index, decoded. */
  tokenAt(index: number): string {
    return decode(this.#bytes, this.#offsets[index] ?? 0, this.#offsets[index + 1] ?? 0);
  }
}

/**
 * Whether bytes[start, end) hold `token` (some code unit of which is not ASCII),
 * compared code unit by code unit.
 */
function equalsWide(bytes: Uint8Array, start: number, end: number, token: string): boolean {
  let p = start;
  for (let k = 0; k < token.length; k++) {
    const c = token.charCodeAt(k);
    if (c < 0x80) {
      if (bytes[p++] !== c) return false;
    } else if (c < 0x800) {
      if (bytes[p] !== (0xc0 | (c >> 6)) || bytes[p + 1] !== (0x80 | (c & 0x3f))) return false;
      p += 2;
    } else {
      if (
        bytes[p] !== (0xe0 | (c >> 12)) ||
        bytes[p + 1] !== (0x80 | ((c >> 6) & 0x3f)) ||
        bytes[p + 2] !== (0x80 | (c & 0x3f))
      )
        return false;
      p += 3;
    }
  }
  return p === end;
}

/** Decodes bytes written by {@link CompactCountsBuilder.add} back to the string. */
function decode(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let p = start; p < end;) {
    const b = bytes[p] ?? 0;
    if (b < 0x80) {
      s += String.fromCharCode(b);
      p += 1;
    } else if (b < 0xe0) {
      s += String.fromCharCode(((b & 0x1f) << 6) | ((bytes[p + 1] ?? 0) & 0x3f));
      p += 2;
    } else {
      s += String.fromCharCode(
        ((b & 0x0f) << 12) | (((bytes[p + 1] ?? 0) & 0x3f) << 6) | ((bytes[p + 2] ?? 0) & 0x3f),
      );
      p += 3;
    }
  }
  return s;
}

/**
 * Collects tokens and counts in growing typed arrays (no object per token),
 * then builds the hash table. A token added twice keeps its last counts, as
 * JSON.parse keeps the last of two equal keys.
 *
 * @example
 * const b = new CompactCountsBuilder();
 * b.addString('viagra', 40, 0);
 * b.build(500, 2500).counts('viagra'); // [40, 0]
 */
export class CompactCountsBuilder {
  #bytes: Uint8Array;
  #used = 0;
  #offsets: Uint32Array;
  /** Spam and ham count of each token, interleaved. */
  #counts: Float64Array;
  #n = 0;
  #max = 0;

  /** Guesses at the number of tokens and of their bytes (the arrays grow past them). */
  constructor(expected = 1024, expectedBytes = expected * 12) {
    const n = Math.max(16, expected);
    this.#bytes = new Uint8Array(Math.max(64, expectedBytes));
    this.#offsets = new Uint32Array(n + 1);
    this.#counts = new Float64Array(2 * n);
  }

  /** Adds a token; counts are non-negative integers. */
  addString(token: string, spam: number, ham: number): void {
    this.#reserve(3 * token.length);
    const bytes = this.#bytes;
    let p = this.#used;
    for (let i = 0; i < token.length; i++) {
      const c = token.charCodeAt(i);
      if (c < 0x80) bytes[p++] = c;
      else if (c < 0x800) {
        bytes[p++] = 0xc0 | (c >> 6);
        bytes[p++] = 0x80 | (c & 0x3f);
      } else {
        bytes[p++] = 0xe0 | (c >> 12);
        bytes[p++] = 0x80 | ((c >> 6) & 0x3f);
        bytes[p++] = 0x80 | (c & 0x3f);
      }
    }
    this.#commit(p, spam, ham);
  }

  /**
   * Adds the token whose UTF-8 bytes are source[start, end) (the model file's
   * bytes); false, and nothing added, when they are not well-formed UTF-8 (a
   * decoder would put U+FFFD in their place: the caller decodes the file
   * instead). A character above U+FFFF is stored as its two surrogates.
   */
  addBytes(source: Uint8Array, start: number, end: number, spam: number, ham: number): boolean {
    // Never longer than UTF-8: 4 bytes become two 3-byte surrogates, the rest is copied.
    this.#reserve(2 * (end - start));
    const bytes = this.#bytes;
    let p = this.#used;
    for (let i = start; i < end;) {
      const b = source[i] ?? 0;
      if (b < 0x80) {
        bytes[p++] = b;
        i += 1;
        continue;
      }
      const b1 = source[i + 1] ?? 0;
      if (i + 1 >= end || (b1 & 0xc0) !== 0x80) return false;
      if (b >= 0xc2 && b <= 0xdf) {
        bytes[p++] = b;
        bytes[p++] = b1;
        i += 2;
        continue;
      }
      const b2 = source[i + 2] ?? 0;
      if (i + 2 >= end || (b2 & 0xc0) !== 0x80) return false;
      if (b >= 0xe0 && b <= 0xef) {
        const c = ((b & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
        if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) return false; // overlong, or a surrogate
        bytes[p++] = b;
        bytes[p++] = b1;
        bytes[p++] = b2;
        i += 3;
        continue;
      }
      const b3 = source[i + 3] ?? 0;
      if (i + 3 >= end || (b3 & 0xc0) !== 0x80 || b < 0xf0 || b > 0xf4) return false;
      const c = ((b & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
      if (c < 0x10000 || c > 0x10ffff) return false;
      for (const unit of [0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 0x3ff)]) {
        bytes[p++] = 0xe0 | (unit >> 12);
        bytes[p++] = 0x80 | ((unit >> 6) & 0x3f);
        bytes[p++] = 0x80 | (unit & 0x3f);
      }
      i += 4;
    }
    this.#commit(p, spam, ham);
    return true;
  }

  /** The table, with the model's message counts. The builder is spent. */
  build(nspam: number, nham: number): CompactCounts {
    const n = this.#n;
    // At most half full: short probes, and a miss (most tokens of a message) ends fast.
    let size = 16;
    while (size < 2 * n) size *= 2;
    const slots = new Int32Array(size);
    const shift = 32 - Math.log2(size);
    const offsets = this.#offsets.slice(0, n + 1);
    const bytes = this.#bytes.slice(0, this.#used);
    this.#bytes = new Uint8Array(0);
    for (let i = 0; i < n; i++) {
      let slot = hashStored(bytes, offsets[i] ?? 0, offsets[i + 1] ?? 0) >>> shift;
      for (;;) {
        const entry = slots[slot] ?? 0;
        if (entry === 0 || sameBytes(bytes, offsets, entry - 1, i)) {
          slots[slot] = i + 1;
          break;
        }
        slot = (slot + 1) & (size - 1);
      }
    }
    const table = new CompactCounts(nspam, nham, {
      bytes,
      offsets,
      counts: narrow(this.#counts.subarray(0, 2 * n), this.#max),
      slots,
    });
    this.#offsets = new Uint32Array(1);
    this.#counts = new Float64Array(0);
    this.#n = this.#used = this.#max = 0;
    return table;
  }

  /** Room for one more token of up to `bytes` bytes. */
  #reserve(bytes: number): void {
    if (this.#used + bytes > this.#bytes.length) {
      const b = new Uint8Array(Math.max(Math.ceil(this.#bytes.length * 1.5), this.#used + bytes));
      b.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = b;
    }
    if (this.#n + 1 >= this.#offsets.length) {
      const n = Math.ceil(this.#offsets.length * 1.5);
      const offsets = new Uint32Array(n + 1);
      offsets.set(this.#offsets);
      this.#offsets = offsets;
      const counts = new Float64Array(2 * n);
      counts.set(this.#counts);
      this.#counts = counts;
    }
  }

  /** Ends the token whose bytes end at `end`. */
  #commit(end: number, spam: number, ham: number): void {
    const i = this.#n++;
    this.#used = end;
    this.#offsets[i + 1] = end;
    this.#counts[2 * i] = spam;
    this.#counts[2 * i + 1] = ham;
    if (spam > this.#max) this.#max = spam;
    if (ham > this.#max) this.#max = ham;
    // −0 (JSON allows it; scores do not change) is kept as it is, in a Float64Array.
    if (Object.is(spam, -0) || Object.is(ham, -0)) this.#max = Infinity;
  }
}

/** Whether tokens a and b have the same bytes. */
function sameBytes(bytes: Uint8Array, offsets: Uint32Array, a: number, b: number): boolean {
  const a0 = offsets[a] ?? 0;
  const b0 = offsets[b] ?? 0;
  const len = (offsets[a + 1] ?? 0) - a0;
  if ((offsets[b + 1] ?? 0) - b0 !== len) return false;
  for (let k = 0; k < len; k++) if (bytes[a0 + k] !== bytes[b0 + k]) return false;
  return true;
}
