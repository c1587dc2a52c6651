/**
 * notices/test-mail.ts — test-only readers for the notices' bytes.
 *
 * A strict message splitter (CRLF only, lines ≤ 998 octets, a header block
 * of well-formed fields ending in an empty line), a strict quoted-printable
 * decoder that rejects anything RFC 2045 §6.7 does not allow (so it checks
 * the encoder as it decodes) and an RFC 2047 encoded-word decoder. Header
 * unfolding is core's `parseHeaders`, the parser smarthold itself uses.
 *
 * Not shipped (package.json excludes dist test-* files) and not a general
 * MIME parser: it reads exactly what render.ts writes.
 */
import { parseHeaders } from '@smarthold/core';

/** A message read back: fields in order (names as written, values unfolded) and the decoded body. */
export interface ReadMessage {
  readonly fields: readonly { readonly name: string; readonly value: string }[];
  readonly headerLines: readonly string[];
  /** The body as sent (quoted-printable). */
  readonly rawBody: string;
  /** The body decoded, LF line ends. */
  readonly text: string;
}

/** Throws unless every line ends in CRLF and none exceeds 998 octets. */
export function assertLines(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  if (!text.endsWith('\r\n')) throw new Error('message does not end in CRLF');
  const lines = text.slice(0, -2).split('\r\n');
  for (const [i, line] of lines.entries()) {
    if (/[\r\n]/.test(line)) throw new Error(`bare CR or LF in line ${i + 1}`);
    if (line.length > 998) throw new Error(`line ${i + 1} is ${line.length} octets`);
  }
  return lines;
}

/** Splits and checks a message; the body is decoded from quoted-printable. */
export function readMessage(raw: Buffer): ReadMessage {
  const lines = assertLines(raw);
  const blank = lines.indexOf('');
  if (blank <= 0) throw new Error('no header block ending in an empty line');
  const headerLines = lines.slice(0, blank);
  for (const line of headerLines) {
    if (!/^(?:[!-9;-~]+:|[ \t]+\S)/.test(line)) throw new Error(`malformed header line: ${line}`);
  }
  const rawBody = lines.slice(blank + 1).join('\r\n') + '\r\n';
  const fields = parseHeaders(Buffer.from(headerLines.join('\r\n'), 'latin1'));
  return { fields, headerLines, rawBody, text: decodeQuotedPrintable(rawBody) };
}

/** Every value of a field (case-insensitive name). */
export function fieldValues(m: ReadMessage, name: string): string[] {
  return m.fields.filter((f) => f.name.toLowerCase() === name.toLowerCase()).map((f) => f.value);
}

/**
 * Strict quoted-printable decoding to text (UTF-8), LF line ends. Throws on
 * a line over 76 characters, a character that must be encoded, lower-case or
 * bad hex, or white space at the end of an encoded line.
 */
export function decodeQuotedPrintable(qp: string): string {
  if (!qp.endsWith('\r\n')) throw new Error('QP text does not end in CRLF');
  const out: number[] = [];
  for (const line of qp.slice(0, -2).split('\r\n')) {
    if (line.length > 76) throw new Error(`QP line longer than 76: ${line}`);
    if (/[ \t]$/.test(line)) throw new Error(`QP line ends in white space: ${JSON.stringify(line)}`);
    if (/[^\t\x20-\x7e]/.test(line)) throw new Error(`QP line has a raw byte: ${JSON.stringify(line)}`);
    const soft = line.endsWith('=');
    const content = soft ? line.slice(0, -1) : line;
    for (let i = 0; i < content.length; i++) {
      const c = content[i] ?? '';
      if (c !== '=') {
        out.push(c.charCodeAt(0));
        continue;
      }
      const hex = content.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error(`bad QP escape in: ${line}`);
      out.push(parseInt(hex, 16));
      i += 2;
    }
    if (!soft) out.push(10);
  }
  return Buffer.from(out).toString('utf8');
}

/** Decodes RFC 2047 encoded-words (B and Q, UTF-8); white space between adjacent words is dropped (§6.2). */
export function decodeWords(value: string): string {
  const word = /=\?UTF-8\?([BQ])\?([^?]*)\?=/gi;
  return value.replace(/(\?=)\s+(?==\?)/g, '$1').replace(word, (_m, enc: string, data: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64').toString('utf8')
      : Buffer.from(
          data
            .replace(/_/g, ' ')
            .replace(/=([0-9A-F]{2})/gi, (_e, h: string) => String.fromCharCode(parseInt(h, 16))),
          'latin1',
        ).toString('utf8'),
  );
}
