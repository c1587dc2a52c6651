/**
 * mime/message.ts — walks a raw RFC 822 message and returns what a reader
 * would see: the top header fields, the decoded text of every text part
 * (HTML turned into text), the links, and a list of the other parts.
 *
 * Multipart (RFC 2046 §5.1) is split on its boundary; message/rfc822 parts
 * are opened; other parts are listed (type, file name) but never decoded.
 * Broken MIME never throws: a multipart without a usable boundary is read as
 * plain text, and depth and part counts are capped. Works on a copy of the
 * bytes; it cannot change the message.
 */
import { decodeCharset, decodeTransfer } from './decode.js';
import { decodeWords, firstField, parseFields, parseParamValue, splitEntity, type Field } from './headers.js';
import { htmlToText } from './html.js';
import type { Yielder } from '../yield.js';

/** A leaf part that is not text (or text we did not read). */
export interface PartInfo {
  /** Lower-cased media type, e.g. `application/pdf`. */
  readonly type: string;
  readonly filename?: string;
  readonly charset?: string;
}

/** The readable content of a message. */
export interface MessageText {
  /** Top-level header fields, top first. */
  readonly fields: Field[];
  /** Decoded text of each text part, HTML converted to text. */
  readonly texts: string[];
  /** Link targets found in HTML parts. */
  readonly links: string[];
  /** Every leaf part, text parts included. */
  readonly parts: PartInfo[];
  /** Charsets declared by text parts (lower-cased). */
  readonly charsets: string[];
  /** True when something had to be guessed (no boundary, too deep, too many parts). */
  malformed: boolean;
}

const MAX_DEPTH = 8;
const MAX_PARTS = 100;

/**
 * Parses a message. Never throws for bad MIME.
 *
 * @example
 * const m = await readMessage(Buffer.from('Subject: hi\r\n\r\nhello'), new Yielder());
 * m.texts // ['hello']
 */
export async function readMessage(raw: Buffer, yielder: Yielder): Promise<MessageText> {
  const { head, body } = splitEntity(raw);
  const fields = parseFields(head);
  const out: MessageText = { fields, texts: [], links: [], parts: [], charsets: [], malformed: false };
  await walk(fields, body, 'text/plain', 0, out, yielder);
  return out;
}

async function walk(
  fields: Field[],
  body: Buffer,
  defaultType: string,
  depth: number,
  out: MessageText,
  yielder: Yielder,
): Promise<void> {
  if (out.parts.length >= MAX_PARTS || depth > MAX_DEPTH) {
    out.malformed = true;
    return;
  }
  const ctRaw = firstField(fields, 'content-type');
  const ct = parseParamValue(ctRaw ?? defaultType);
  const type = ct.value.includes('/') ? ct.value : 'text/plain';
  const encoding = firstField(fields, 'content-transfer-encoding');

  if (type.startsWith('multipart/')) {
    const boundary = ct.params.get('boundary');
    const children = boundary ? splitMultipart(body, boundary) : null;
    if (!children) {
      out.malformed = true;
      await addText(body, encoding, ct.params.get('charset'), 'text/plain', out, yielder);
      return;
    }
    const childDefault = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    for (const child of children) {
      const { head, body: childBody } = splitEntity(child);
      await walk(parseFields(head), childBody, childDefault, depth + 1, out, yielder);
      await yielder.tick();
    }
    return;
  }
  if (type === 'message/rfc822' || type === 'message/global') {
    const inner = splitEntity(decodeTransfer(body, encoding));
    const innerFields = parseFields(inner.head);
    const subject = firstField(innerFields, 'subject');
    if (subject) out.texts.push(decodeWords(subject));
    await walk(innerFields, inner.body, 'text/plain', depth + 1, out, yielder);
    return;
  }
  const disposition = parseParamValue(firstField(fields, 'content-disposition') ?? '');
  const name = disposition.params.get('filename') ?? ct.params.get('name');
  const charset = ct.params.get('charset')?.toLowerCase();
  const isText = type === 'text/plain' || type === 'text/html' || type === 'text/enriched';
  if (!isText || (disposition.value === 'attachment' && name !== undefined)) {
    out.parts.push({
      type,
      ...(name === undefined ? {} : { filename: decodeWords(name) }),
      ...(charset ? { charset } : {}),
    });
    return;
  }
  await addText(body, encoding, charset, type, out, yielder);
}

async function addText(
  body: Buffer,
  encoding: string | undefined,
  charset: string | undefined,
  type: string,
  out: MessageText,
  yielder: Yielder,
): Promise<void> {
  out.parts.push({ type, ...(charset ? { charset } : {}) });
  if (charset) out.charsets.push(charset);
  const decoded = decodeCharset(decodeTransfer(body, encoding), charset);
  await yielder.tick();
  if (type === 'text/html' || (type === 'text/plain' && looksLikeHtml(decoded))) {
    const html = await htmlToText(decoded, yielder);
    out.texts.push(html.text);
    out.links.push(...html.links);
  } else {
    out.texts.push(decoded);
  }
}

/** Plain-text parts that are really HTML (common in spam) are read as HTML. */
function looksLikeHtml(text: string): boolean {
  const head = text.slice(0, 2048).toLowerCase();
  return (
    head.includes('<html') || head.includes('<body') || (head.includes('<a href') && head.includes('</'))
  );
}

/** Splits a multipart body into its parts; null when no delimiter line is found. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] | null {
  const delim = Buffer.from('--' + boundary, 'latin1');
  const starts: number[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0 && starts.length <= MAX_PARTS) {
    if (pos === 0 || body[pos - 1] === 10) starts.push(pos);
    pos = body.indexOf(delim, pos + delim.length);
  }
  if (starts.length === 0) return null;
  const parts: Buffer[] = [];
  for (let i = 0; i < starts.length; i++) {
    const at = starts[i] ?? 0;
    const afterDelim = at + delim.length;
    if (body[afterDelim] === 45 && body[afterDelim + 1] === 45) break; // "--boundary--" closes
    const lineEnd = body.indexOf(10, afterDelim);
    if (lineEnd < 0) break;
    let end = starts[i + 1] ?? body.length;
    if (starts[i + 1] !== undefined) {
      if (body[end - 1] === 10) end--;
      if (body[end - 1] === 13) end--;
    }
    if (end > lineEnd + 1) parts.push(body.subarray(lineEnd + 1, end));
  }
  return parts;
}
