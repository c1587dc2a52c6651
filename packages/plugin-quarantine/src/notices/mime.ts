/**
 * notices/mime.ts — the header fields and bytes of a notice (RFC 5322, MIME).
 *
 * Pure formatting: RFC 5322 dates, one-line sanitising of untrusted text,
 * RFC 2047 encoded-words for non-ASCII text, folding at 78 characters, the
 * From address with its display name, Message-IDs, and the assembly of a
 * single text/plain part in quoted-printable with CRLF line ends. Every
 * value is checked or cleaned so that no input can end a header line early
 * (header injection); a line that would still exceed 998 octets is a bug and
 * throws.
 *
 * It does not parse mail, sign it (DKIM belongs to the queue), or build
 * multipart messages: a notice is one short text.
 */
import { randomBytes } from 'node:crypto';
import { encodeQuotedPrintable } from './qp.js';

/** Recommended longest header line, without CRLF (RFC 5322 §2.1.1). */
export const HEADER_LINE_MAX = 78;
/** Hard limit of any line, without CRLF (RFC 5322 §2.1.1). */
export const LINE_MAX = 998;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** An RFC 5322 date-time in UTC: "Wed, 01 May 2024 14:03:00 +0000" (§3.3). */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const day = DAYS[d.getUTCDay()] ?? '';
  const month = MONTHS[d.getUTCMonth()] ?? '';
  const time = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return `${day}, ${pad2(d.getUTCDate())} ${month} ${d.getUTCFullYear()} ${time} +0000`;
}

/**
 * Control characters (C0 with CR, LF and TAB, DEL, C1), the Unicode line and
 * paragraph separators, and the bidi embedding/override/isolate controls that
 * could make a quoted spam subject display as something else.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text made safe for one line: unsafe characters become spaces (bidi controls vanish). */
export function oneLine(text: string): string {
  return text.replace(UNSAFE, (c) => (/[\u202a-\u202e\u2066-\u2069]/.test(c) ? '' : ' '));
}

/** True when the text is printable ASCII (space included). */
export function isPrintableAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/**
 * Splits text into RFC 2047 "B" encoded-words of UTF-8 (§4.1), never
 * splitting a character (§5: each word must decode on its own). 42 bytes
 * make 56 base64 characters, so a word is 68 characters: it fits behind
 * "Subject: " and on a continuation line.
 */
export function encodeWords(text: string, maxBytes = 42): string[] {
  const words: string[] = [];
  let chunk = '';
  for (const ch of text) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > maxBytes && chunk !== '') {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk !== '' || words.length === 0) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`);
}

/**
 * Folds `Name: value` at white space so that lines stay within 78 characters
 * where possible (RFC 5322 §2.2.3): the break goes before a space, which
 * stays as the continuation line's first character. A run without white
 * space longer than a line is left whole; the 998 limit is checked when the
 * message is assembled.
 */
export function foldField(name: string, value: string): string {
  const lines: string[] = [];
  let rest = `${name}: ${value}`;
  // The first cut may come right after "Name:"; a later one not before the leading space.
  let min = name.length + 1;
  while (rest.length > HEADER_LINE_MAX) {
    let cut = rest.lastIndexOf(' ', HEADER_LINE_MAX);
    if (cut < min) cut = rest.indexOf(' ', HEADER_LINE_MAX + 1);
    if (cut < min) break;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut);
    min = 1;
  }
  lines.push(rest);
  return lines.join('\r\n');
}

/**
 * The Subject field: cleaned to one line, then either folded plain ASCII or,
 * when it holds non-ASCII, an "=?" that a reader would decode, or a word too
 * long to fold, a sequence of encoded-words (RFC 2047 §5 (1)).
 */
export function subjectField(subject: string): string {
  const text = oneLine(subject).replace(/\s+/g, ' ').trim();
  const plain =
    isPrintableAscii(text) && !text.includes('=?') && text.split(' ').every((w) => w.length <= 60);
  return foldField('Subject', plain ? text : encodeWords(text).join(' '));
}

const SPECIALS = /[()<>[\]:;@\\,."]/;

/** A display name as an RFC 5322 phrase: atoms as they are, specials quoted, non-ASCII encoded. */
export function displayName(name: string): string {
  const text = oneLine(name).replace(/\s+/g, ' ').trim();
  if (!isPrintableAscii(text)) return encodeWords(text).join(' ');
  if (!SPECIALS.test(text)) return text;
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** An address that cannot break a header: no controls, no white space outside quotes, no angle brackets. */
export function checkAddress(address: string, what: string): string {
  const unquoted = address.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  if (
    address === '' ||
    address !== oneLine(address) ||
    /[\s<>]/.test(unquoted) ||
    Buffer.byteLength(address) > 320
  ) {
    throw new TypeError(`${what}: not a usable mail address: ${JSON.stringify(address)}`);
  }
  return address;
}

/**
 * A mailbox header value from "Name <addr>", "\"Name\" <addr>" or a bare
 * address: the name becomes a phrase (see {@link displayName}).
 */
export function mailboxValue(mailbox: string, what: string): string {
  const m = /^\s*(.*?)\s*<([^<>]*)>\s*$/s.exec(mailbox);
  if (m === null) return checkAddress(mailbox.trim(), what);
  const addr = checkAddress(m[2] ?? '', what);
  let name = m[1] ?? '';
  if (/^"(?:[^"\\]|\\.)*"$/.test(name)) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  return name === '' ? `<${addr}>` : `${displayName(name)} <${addr}>`;
}

/** A host name usable on the right of a Message-ID: a dot-atom of letters, digits, '-' and '.', or a [literal]. */
export function checkHostname(hostname: string): string {
  if (!/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/.test(hostname)) {
    throw new TypeError(`not a usable host name for Message-ID: ${JSON.stringify(hostname)}`);
  }
  return hostname;
}

/** A fresh Message-ID value with its angle brackets (RFC 5322 §3.6.4). */
export function newMessageId(now: number, hostname: string): string {
  return `<${now.toString(36)}.${randomBytes(12).toString('hex')}@${hostname}>`;
}

/** A URL for List-Unsubscribe: http(s) only, normalised (percent-encoded, so no spaces or '>'). */
export function checkUnsubscribeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new TypeError(`unsubscribe URL does not parse: ${JSON.stringify(url)}`, { cause: err });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`unsubscribe URL must be http(s): ${JSON.stringify(url)}`);
  }
  return parsed.href;
}

/** One header field, already formatted (possibly folded), without its final CRLF. */
export type HeaderLine = string;

/**
 * Joins header fields and a text body into the message bytes: the body is
 * quoted-printable, every line ends in CRLF, the header block ends with an
 * empty line. Throws when any line is longer than 998 octets.
 */
export function assembleMessage(fields: readonly HeaderLine[], body: string): Buffer {
  const text = `${fields.join('\r\n')}\r\n\r\n${encodeQuotedPrintable(body)}`;
  const raw = Buffer.from(text.endsWith('\r\n') ? text : `${text}\r\n`, 'utf8');
  let start = 0;
  for (let i = raw.indexOf('\r\n'); i >= 0; i = raw.indexOf('\r\n', start)) {
    if (i - start > LINE_MAX) throw new RangeError(`notice line longer than ${LINE_MAX} octets`);
    start = i + 2;
  }
  return raw;
}
