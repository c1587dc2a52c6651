/**
 * protocol.ts — the SPAMC/1.5 protocol of spamd: request heads and reply parsing.
 *
 * Pure functions, no I/O. Builds the head of SYMBOLS, REPORT, TELL and PING
 * requests and parses spamd's replies: the status line, the `Spam:` header,
 * the symbol list and the REPORT table. It never builds PROCESS or HEADERS
 * (those return a rewritten message, which a scanner must not produce).
 *
 * Reference: SpamAssassin `spamd/PROTOCOL` (SPAMC/1.5). A request is a line
 * `METHOD SPAMC/1.5`, headers (`Content-length` is required when a message
 * follows), an empty line, then exactly Content-length octets. The reply is
 * `SPAMD/1.1 <code> <text>` (code 0 is EX_OK; others are sysexits.h codes),
 * headers, an empty line and a body. Lines end in CRLF.
 */

/** The methods this client sends. */
export type SpamcMethod = 'SYMBOLS' | 'REPORT' | 'TELL' | 'PING';

/** Extra request headers; names as spamd spells them. */
export interface RequestHeaders {
  readonly 'Content-length'?: number;
  readonly User?: string;
  readonly 'Message-class'?: 'spam' | 'ham';
  readonly Set?: 'local' | 'remote' | 'local, remote';
}

/** A parsed spamd reply. */
export interface SpamdReply {
  readonly protocol: string;
  /** sysexits.h code: 0 is EX_OK. */
  readonly code: number;
  readonly text: string;
  /** Header names lowercased. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** The `Spam:` header: `True ; 15.0 / 5.0`. */
export interface SpamHeader {
  readonly isSpam: boolean;
  readonly score: number;
  readonly required: number;
}

/** A rule from a SYMBOLS or REPORT body. */
export interface ParsedRule {
  readonly name: string;
  readonly score: number;
  readonly description?: string;
}

/** Thrown when spamd's reply cannot be understood or is an error. */
export class SpamdProtocolError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'SpamdProtocolError';
  }
}

const HEADER_VALUE = /^[\x20-\x7e]*$/;

/** The request head: request line, headers, empty line (PROTOCOL, "The protocol"). */
export function requestHead(method: SpamcMethod, headers: RequestHeaders = {}): Buffer {
  let head = `${method} SPAMC/1.5\r\n`;
  for (const [name, value] of Object.entries(headers) as [string, string | number | undefined][]) {
    if (value === undefined) continue;
    const text = String(value);
    // A CR or LF here would let a value inject headers into the request.
    if (!HEADER_VALUE.test(text)) throw new SpamdProtocolError(`invalid ${name} header value`);
    head += `${name}: ${text}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/** Where the reply head ends: index just past the empty line, or -1 when not yet received. */
export function headEnd(buf: Buffer): number {
  const crlf = buf.indexOf('\r\n\r\n');
  if (crlf >= 0) return crlf + 4;
  // PING's reply has no headers and may end after the status line.
  const lf = buf.indexOf('\n\n');
  return lf >= 0 ? lf + 2 : -1;
}

/**
 * Parses a complete reply. `complete` says the connection has ended, so a
 * head without an empty line (PING's `SPAMD/1.5 0 PONG`) is accepted.
 */
export function parseReply(buf: Buffer, complete = true): SpamdReply {
  let end = headEnd(buf);
  if (end < 0) {
    if (!complete) throw new SpamdProtocolError('incomplete reply');
    end = buf.length;
  }
  const head = buf.subarray(0, end).toString('latin1');
  const lines = head.split(/\r?\n/);
  const status = /^(SPAMD\/\d+\.\d+)\s+(\d+)\s*(.*)$/.exec(lines[0] ?? '');
  if (!status)
    throw new SpamdProtocolError(`not a spamd reply: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SpamdProtocolError(`bad reply header: ${JSON.stringify(line.slice(0, 80))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = buf.subarray(end);
  const length = headers.get('content-length');
  if (length !== undefined) {
    const n = Number(length);
    if (!Number.isInteger(n) || n < 0) throw new SpamdProtocolError(`bad Content-length: ${length}`);
    if (body.length < n) throw new SpamdProtocolError(`reply body cut short: ${body.length} of ${n} octets`);
    body = body.subarray(0, n);
  }
  return {
    protocol: status[1] ?? '',
    code: Number(status[2]),
    text: status[3] ?? '',
    headers,
    body: body.toString('utf8'),
  };
}

/** True when enough of the reply has arrived to parse it before the connection ends. */
export function replyComplete(buf: Buffer): boolean {
  const end = headEnd(buf);
  if (end < 0) return false;
  const m = /\r?\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
  return m !== null && buf.length - end >= Number(m[1]);
}

/** Throws unless the reply is EX_OK (code 0). */
export function expectOk(reply: SpamdReply): void {
  if (reply.code !== 0)
    throw new SpamdProtocolError(`spamd answered ${reply.code} ${reply.text}`.trim(), reply.code);
}

/** Parses `Spam: True ; 15.0 / 5.0` (PROTOCOL: "Yes"/"No" in SPAMD/1.0, "True"/"False" since 1.1). */
export function parseSpamHeader(value: string | undefined): SpamHeader {
  const m = /^\s*(true|false|yes|no)\s*;\s*(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*$/i.exec(value ?? '');
  if (!m) throw new SpamdProtocolError(`missing or bad Spam header: ${JSON.stringify(value ?? null)}`);
  const flag = (m[1] ?? '').toLowerCase();
  return { isSpam: flag === 'true' || flag === 'yes', score: Number(m[2]), required: Number(m[3]) };
}

/** SYMBOLS body: rule names separated by commas. Names only; scores are unknown (0). */
export function parseSymbols(body: string): ParsedRule[] {
  return body
    .split(/[,\s]+/)
    .filter((name) => name !== '')
    .map((name) => ({ name, score: 0 }));
}

// A row starts with its score within the first columns; wrapped text is indented to the description column.
const TABLE_RULE = /^\s{0,5}(-?\d+(?:\.\d+)?)\s+(\S+)(?:\s+(.*?))?\s*$/;
const TABLE_SEPARATOR = /^-{3,}\s+-{3,}/;

/**
 * REPORT body: the `_SUMMARY_` table of the report template
 * (` pts rule name   description` / `---- ----- ----` / rows). Rows wrapped
 * onto indented lines without a score are joined to the row above. Text
 * before and after the table (the template's prose) is ignored.
 */
export function parseReport(body: string): ParsedRule[] {
  const lines = body.split(/\r?\n/);
  const start = lines.findIndex((l) => TABLE_SEPARATOR.test(l));
  if (start < 0) return [];
  const rules: { name: string; score: number; description: string }[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const row = TABLE_RULE.exec(line);
    if (row && Number.isFinite(Number(row[1]))) {
      rules.push({ name: row[2] ?? '', score: Number(row[1]), description: row[3] ?? '' });
    } else if (/^\s/.test(line) && rules.length > 0) {
      const last = rules[rules.length - 1];
      if (last) last.description = `${last.description} ${line.trim()}`.trim();
    } else {
      break;
    }
  }
  return rules.map((r) => (r.description ? r : { name: r.name, score: r.score }));
}

/** TELL reply: which databases were set (`DidSet: local`) or removed. */
export function parseTell(reply: SpamdReply): { didSet: string[]; didRemove: string[] } {
  const list = (v: string | undefined): string[] =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  return { didSet: list(reply.headers.get('didset')), didRemove: list(reply.headers.get('didremove')) };
}
