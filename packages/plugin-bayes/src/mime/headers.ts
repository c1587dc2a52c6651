/**
 * mime/headers.ts — the header side of MIME: split head from body, unfold
 * fields (RFC 5322 §2.2.3), read parameters (RFC 2045 §5.1, RFC 2231
 * continuations in their simple form) and decode encoded-words (RFC 2047).
 *
 * Lenient by design: spam is often malformed, and a scanner must read what a
 * mail client would show. Nothing here throws on bad input, and nothing here
 * validates or rewrites anything.
 */
import { decodeCharset } from './decode.js';

/** One header field: lower-cased name and unfolded raw value. */
export interface Field {
  readonly name: string;
  readonly value: string;
}

/** A parsed structured value such as `text/plain; charset=utf-8`. */
export interface ParamValue {
  /** The value before the first `;`, lower-cased and trimmed. */
  readonly value: string;
  /** Parameters by lower-cased name. */
  readonly params: ReadonlyMap<string, string>;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

/**
 * Splits an entity at the first empty line. An mbox `From ` separator line at
 * the very top (as in corpora saved from mailboxes) is skipped. When there is
 * no empty line, everything is header.
 */
export function splitEntity(buf: Buffer): { head: string; body: Buffer } {
  let start = 0;
  if (buf.subarray(0, 5).toString('latin1') === 'From ') {
    const nl = buf.indexOf(10);
    start = nl < 0 ? buf.length : nl + 1;
  }
  const crlf = buf.indexOf(CRLFCRLF, start);
  const lf = buf.indexOf(LFLF, start);
  let headEnd: number;
  let bodyStart: number;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) {
    headEnd = crlf;
    bodyStart = crlf + 4;
  } else if (lf >= 0) {
    headEnd = lf;
    bodyStart = lf + 2;
  } else if (startsWithBlankLine(buf, start)) {
    headEnd = start;
    bodyStart = start + (buf[start] === 13 ? 2 : 1);
  } else {
    headEnd = buf.length;
    bodyStart = buf.length;
  }
  // Raw 8-bit header bytes are usually UTF-8; fall back to Windows-1252.
  const head = decodeCharset(buf.subarray(start, headEnd), 'utf-8');
  return { head, body: buf.subarray(bodyStart) };
}

function startsWithBlankLine(buf: Buffer, at: number): boolean {
  return buf[at] === 10 || (buf[at] === 13 && buf[at + 1] === 10);
}

/** Parses a header block into fields, unfolding continuation lines. Lines that are not fields are skipped. */
export function parseFields(head: string): Field[] {
  const fields: Field[] = [];
  let name = '';
  let value = '';
  const flush = (): void => {
    if (name) fields.push({ name, value: value.trim() });
    name = '';
    value = '';
  };
  for (const line of head.split(/\r?\n/)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && name) {
      value += ' ' + line.trim();
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const candidate = line.slice(0, colon);
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(candidate)) continue;
    name = candidate.toLowerCase();
    value = line.slice(colon + 1);
  }
  flush();
  return fields;
}

/** The first value of a field, or undefined. */
export function firstField(fields: readonly Field[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

/** Parses `value; a=b; c="d"` leniently; RFC 2231 `name*0*=` pieces are joined and percent-decoded. */
export function parseParamValue(raw: string): ParamValue {
  const params = new Map<string, string>();
  const semi = raw.indexOf(';');
  const value = (semi < 0 ? raw : raw.slice(0, semi)).trim().toLowerCase();
  if (semi < 0) return { value, params };
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  const pieces = new Map<string, string[]>();
  for (const m of raw.slice(semi).matchAll(re)) {
    const key = (m[1] ?? '').toLowerCase();
    const val = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '').trim();
    const cont = /^(.+?)\*(\d+)?\*?$/.exec(key);
    if (cont?.[1]) {
      const list = pieces.get(cont[1]) ?? [];
      list[Number(cont[2] ?? 0)] = val;
      pieces.set(cont[1], list);
    } else if (!params.has(key)) {
      params.set(key, val);
    }
  }
  for (const [key, list] of pieces) {
    if (params.has(key)) continue;
    let joined = list.join('');
    const ext = /^([^']*)'[^']*'(.*)$/.exec(joined);
    if (ext) joined = percentDecode(ext[2] ?? '', ext[1] || 'utf-8');
    params.set(key, joined);
  }
  return { value, params };
}

function percentDecode(text: string, charset: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '%' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  return decodeCharset(Buffer.from(bytes), charset);
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/** Decodes RFC 2047 encoded-words in an unstructured value; whitespace between adjacent words is dropped (§6.2). */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  const joined = value.replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?)/g, '$1');
  return joined.replace(ENCODED_WORD, (_all, charset: string, enc: string, text: string) => {
    const cs = charset.split('*')[0] ?? charset;
    if (enc === 'b' || enc === 'B') return decodeCharset(Buffer.from(text, 'base64'), cs);
    const bytes = text
      .replace(/_/g, ' ')
      .replace(/=([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    return decodeCharset(Buffer.from(bytes, 'latin1'), cs);
  });
}
