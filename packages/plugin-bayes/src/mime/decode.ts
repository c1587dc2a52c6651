/**
 * mime/decode.ts — byte-level decoding of MIME content: transfer encodings
 * (RFC 2045 §6.7 quoted-printable, §6.8 base64) and charsets to strings.
 *
 * Charsets go through the WHATWG TextDecoder that Node ships with full ICU
 * (utf-8, iso-8859-*, windows-*, koi8, gb2312/gbk, big5, shift_jis, euc-*).
 * An unknown or lying label never fails: bytes that are not valid UTF-8 are
 * read as Windows-1252. Nothing here throws on malformed input.
 */

import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';

const decoders = new Map<string, TextDecoder | null>();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
/** Windows-1252 0x80–0x9F (Node's TextDecoder treats windows-1252 as ISO-8859-1 there). */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

function decodeWindows1252(bytes: Uint8Array): string {
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  return latin1.replace(/[\x80-\x9f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80] ?? c);
}

/** Charset labels seen in mail that TextDecoder spells differently. */
const ALIASES: Record<string, string> = {
  'ks_c_5601-1987': 'euc-kr',
  ks_c_5601: 'euc-kr',
  'x-sjis': 'shift_jis',
  'x-euc-jp': 'euc-jp',
  'x-gbk': 'gbk',
  gb_2312_80: 'gb2312',
  'x-mac-roman': 'macintosh',
  ansi_x3_4_1968: 'us-ascii',
  'x-unknown': 'windows-1252',
  'x-user-defined': 'windows-1252',
};

function decoderFor(label: string): TextDecoder | null {
  const key = label.trim().toLowerCase().replace(/^"|"$/g, '');
  const cached = decoders.get(key);
  if (cached !== undefined) return cached;
  let decoder: TextDecoder | null = null;
  try {
    decoder = new TextDecoder(ALIASES[key] ?? key);
  } catch {
    decoder = null;
  }
  if (decoders.size < 256) decoders.set(key, decoder);
  return decoder;
}

/**
 * Decodes bytes declared to be in `charset`.
 *
 * @example
 * decodeCharset(Buffer.from([0xe9]), 'iso-8859-1') // 'é'
 */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  if (bytes.length === 0) return '';
  const decoder = charset ? decoderFor(charset) : null;
  const isUtf8 = decoder === null || decoder.encoding === 'utf-8' || decoder.encoding === 'windows-1252';
  if (isUtf8 && !hasHighBit(bytes))
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  if (decoder && !isUtf8) return decoder.decode(bytes);
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}

/**
 * True when some byte is above 0x7F. Node's isAscii (SIMD, many bytes a step)
 * rather than a loop over the bytes: every text part and header block of a
 * scan goes through here, 100 KB of it for a 100 KB message.
 */
export function hasHighBit(bytes: Uint8Array): boolean {
  return !isAscii(bytes);
}

/** Decodes a Content-Transfer-Encoding; unknown encodings (7bit, 8bit, binary, x-uuencode) pass through. */
export function decodeTransfer(body: Buffer, encoding: string | undefined): Buffer {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === 'base64') return Buffer.from(body.toString('latin1'), 'base64');
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Quoted-printable (RFC 2045 §6.7): `=XX` is a byte, `=` at the end of a line
 * is a soft break. A `=` followed by anything else is kept as is, as mail
 * clients do.
 */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let o = 0;
  const n = input.length;
  for (let i = 0; i < n; i++) {
    const c = input[i] ?? 0;
    if (c !== 61) {
      out[o++] = c;
      continue;
    }
    const a = input[i + 1] ?? -1;
    const b = input[i + 2] ?? -1;
    const hi = hexValue(a);
    const lo = hexValue(b);
    if (hi >= 0 && lo >= 0) {
      out[o++] = hi * 16 + lo;
      i += 2;
      continue;
    }
    // Soft line break: '=' then optional trailing blanks, then CRLF or LF.
    let j = i + 1;
    while (input[j] === 32 || input[j] === 9) j++;
    if (input[j] === 13 && input[j + 1] === 10) {
      i = j + 1;
      continue;
    }
    if (input[j] === 10) {
      i = j;
      continue;
    }
    if (j >= n) break;
    out[o++] = c;
  }
  return out.subarray(0, o);
}
