/**
 * delivery/dsn.ts — delivery status notifications (bounces and delay warnings).
 *
 * `buildDsn` is pure: from the original message's envelope, its header block
 * and the recipients to report, it makes the raw RFC 5322 bytes of an RFC 3464
 * report (multipart/report, RFC 6522): a short human explanation, the
 * message/delivery-status part and the original header block as
 * text/rfc822-headers (never the body). `DsnNotifier` is the glue the
 * scheduler uses: it reads the header block from the spool and queues the
 * report through the normal store with the null sender, so a report is
 * retried like any mail and can never cause another one (RFC 5321 §4.5.5).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SubmitMessage } from '../plugin/api.js';
import type { Spool } from '../store/spool.js';
import type { Clock } from '../util/clock.js';

/** One recipient to report. */
export interface DsnRecipient {
  readonly address: string;
  /** Enhanced status code recorded for the recipient ("5.1.1"); empty when unknown. */
  readonly status: string;
  /** The next hop's reply ("550 5.1.1 no such user") or our own reason (expiry, corrupt spool). */
  readonly reply: string;
  /** "host:port", "host[ip]:port", or "none"/"" when no next hop was reached. */
  readonly relay: string;
  /** When the last attempt was made (ms since the epoch). */
  readonly lastAttempt: number;
}

/** What a report says about its recipients. */
export type DsnAction = 'failed' | 'delayed';

/** Everything a report is built from. */
export interface DsnInput {
  readonly action: DsnAction;
  /** Queue id of the original message. */
  readonly queueId: string;
  /** Envelope sender of the original message (the report's To); must not be empty. */
  readonly sender: string;
  readonly arrivalTime: number;
  readonly recipients: readonly DsnRecipient[];
  /** The original message's header block (up to, not including, the empty line); undefined when unreadable. */
  readonly headers: Buffer | undefined;
  /** Our host name (Reporting-MTA, MAILER-DAEMON@hostname, Message-ID). */
  readonly hostname: string;
  /** The report's From; empty means MAILER-DAEMON@hostname. */
  readonly from?: string;
  /** For delay warnings: when the recipients will bounce if still undelivered. */
  readonly willRetryUntil?: number;
  readonly clock: Clock;
  /** The report's Message-ID without brackets; generated when omitted. */
  readonly messageId?: string;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An RFC 5322 date-time in UTC ("Mon, 23 Nov 2026 08:22:22 +0000"). */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()] ?? ''}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()] ?? ''} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A status code fit for the Status field: the recorded one when well-formed, else a default by action. */
export function dsnStatus(status: string, action: DsnAction): string {
  if (/^[245]\.\d{1,3}\.\d{1,3}$/.test(status)) return status;
  return action === 'failed' ? '5.0.0' : '4.0.0';
}

/** The host part of a relay string ("mx.example.net[192.0.2.1]:25" → "mx.example.net"); undefined for none. */
export function remoteMtaOf(relay: string): string | undefined {
  let h = relay.trim();
  if (!h || h === 'none') return undefined;
  h = h.replace(/:\d+$/, '');
  if (h.startsWith('[') && h.endsWith(']')) return h.slice(1, -1) || undefined;
  h = h.replace(/\[[^\]]*\]$/, '');
  return h || undefined;
}

/** One header-field value on one line: no CR/LF, no control characters, bounded length. */
function oneLine(text: string, max = 900): string {
  // Control characters (CR, LF, NUL...) would break the header block.
  const s = text
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return s.length > max ? s.slice(0, max - 3) + '...' : s;
}

/** Diagnostic-Code: an SMTP reply is typed "smtp", anything of ours "X-Smarthold". */
function diagnosticCode(reply: string): string {
  const r = oneLine(reply);
  return /^[2-5]\d\d(?:[ -]|$)/.test(r) ? `smtp; ${r}` : `X-Smarthold; ${r || 'unknown reason'}`;
}

// Matches any byte outside printable ASCII and the usual whitespace.
const NON_ASCII = /[^\x09\x0a\x0d\x20-\x7e]/;

function isAscii(b: Buffer | string): boolean {
  return !NON_ASCII.test(typeof b === 'string' ? b : b.toString('latin1'));
}

/** A fresh Message-ID (without brackets). */
export function newMessageId(now: number, hostname: string): string {
  return `${now.toString(36)}.${randomBytes(8).toString('hex')}@${hostname}`;
}

function humanText(input: DsnInput): string {
  const lines: string[] = [];
  lines.push(`This is the mail system at host ${input.hostname}.`, '');
  if (input.action === 'failed') {
    lines.push(
      "I'm sorry to have to inform you that your message could not",
      'be delivered to one or more recipients. The reasons are below.',
    );
  } else {
    lines.push(
      'Your message could not be delivered yet to one or more recipients;',
      'it stays queued and will be retried.',
      input.willRetryUntil === undefined
        ? ''
        : `It will be returned if still undelivered by ${rfc5322Date(input.willRetryUntil)}.`,
      'This is only a warning; you do not need to send the message again.',
    );
  }
  lines.push('');
  for (const r of input.recipients) {
    lines.push(`<${r.address}>: ${oneLine(r.reply, 2000) || 'unknown reason'}`);
  }
  lines.push('', `Queue ID: ${input.queueId}`);
  return lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\r\n') + '\r\n';
}

function deliveryStatus(input: DsnInput): string {
  const msg = [
    `Reporting-MTA: dns; ${input.hostname}`,
    `X-Smarthold-Queue-ID: ${input.queueId}`,
    `Arrival-Date: ${rfc5322Date(input.arrivalTime)}`,
  ];
  const blocks = [msg.join('\r\n')];
  for (const r of input.recipients) {
    const f = [
      `Final-Recipient: rfc822; ${oneLine(r.address)}`,
      `Action: ${input.action}`,
      `Status: ${dsnStatus(r.status, input.action)}`,
    ];
    const mta = remoteMtaOf(r.relay);
    if (mta) f.push(`Remote-MTA: dns; ${oneLine(mta)}`);
    f.push(`Diagnostic-Code: ${diagnosticCode(r.reply)}`);
    f.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    if (input.action === 'delayed' && input.willRetryUntil !== undefined)
      f.push(`Will-Retry-Until: ${rfc5322Date(input.willRetryUntil)}`);
    blocks.push(f.join('\r\n'));
  }
  return blocks.join('\r\n\r\n') + '\r\n';
}

/** Drops the trailing empty line(s) of a header block and makes sure it ends with CRLF. */
function headerBlock(h: Buffer): Buffer {
  let s = h.toString('latin1');
  s = s.replace(/(?:\r?\n)+$/, '');
  return Buffer.from(s + '\r\n', 'latin1');
}

/**
 * Builds an RFC 3464 delivery status notification (raw RFC 5322 bytes, CRLF).
 *
 * @example
 * const raw = buildDsn({ action: 'failed', queueId, sender: 'a@example.org', arrivalTime, recipients, headers, hostname: 'mx.example.org', clock });
 * await committer.submit('dsn', { from: '', to: ['a@example.org'], raw });
 */
export function buildDsn(input: DsnInput): Buffer {
  const now = input.clock.now();
  const messageId = input.messageId ?? newMessageId(now, input.hostname);
  const boundary = `=_smarthold_${createHash('sha256').update(messageId).digest('hex').slice(0, 32)}`;
  const from = input.from || `MAILER-DAEMON@${input.hostname}`;
  const failed = input.action === 'failed';
  const subject = failed ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)';
  const text = humanText(input);
  const status = deliveryStatus(input);
  const textEncoding = isAscii(text) ? '7bit' : '8bit';
  const statusEncoding = isAscii(status) ? '7bit' : '8bit';
  const head = [
    `From: Mail Delivery System <${from}>`,
    `To: <${input.sender}>`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${messageId}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Description: Notification',
    `Content-Transfer-Encoding: ${textEncoding}`,
    '',
    text,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    `Content-Transfer-Encoding: ${statusEncoding}`,
    '',
    status,
  ].join('\r\n');
  const parts: Buffer[] = [Buffer.from(head, 'utf8')];
  if (input.headers?.length) {
    const h = headerBlock(input.headers);
    parts.push(
      Buffer.from(
        [
          `--${boundary}`,
          'Content-Type: text/rfc822-headers',
          `Content-Description: ${failed ? 'Undelivered' : 'Delayed'} Message Headers`,
          `Content-Transfer-Encoding: ${isAscii(h) ? '7bit' : '8bit'}`,
          '',
          '',
        ].join('\r\n'),
        'utf8',
      ),
      h,
    );
  }
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'));
  return Buffer.concat(parts);
}

/** Largest header block copied into a report; a longer one is cut at a line end. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** The header block of a byte prefix: up to the empty line, or whole lines up to `max` octets. */
export function headerBlockOf(prefix: Buffer, max = MAX_HEADER_BYTES): Buffer {
  const end = prefix.indexOf('\r\n\r\n');
  if (end >= 0 && end + 2 <= max) return prefix.subarray(0, end + 2);
  const lfEnd = prefix.indexOf('\n\n');
  if (lfEnd >= 0 && lfEnd + 1 <= max) return prefix.subarray(0, lfEnd + 1);
  const cut = prefix.subarray(0, max);
  const lastNl = cut.lastIndexOf('\n');
  return lastNl >= 0 ? cut.subarray(0, lastNl + 1) : cut;
}

/** Reads the header block of a spooled message (never more than `max` octets); undefined when unreadable. */
export async function readSpoolHeaders(
  spool: Spool,
  queueId: string,
  max = MAX_HEADER_BYTES,
): Promise<Buffer | undefined> {
  const stream = spool.open(queueId);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      chunks.push(c);
      size += c.length;
      // Stop once the empty line is in, or the cap is reached.
      const sofar = Buffer.concat(chunks, size);
      chunks.splice(0, chunks.length, sofar);
      if (sofar.includes('\r\n\r\n') || sofar.includes('\n\n') || size >= max) break;
    }
  } catch {
    return undefined;
  } finally {
    stream.destroy();
  }
  return headerBlockOf(Buffer.concat(chunks, size), max);
}

/** What {@link DsnNotifier} needs. */
export interface DsnNotifierOptions {
  /** Queues a message (Committer.submit with origin "dsn"). */
  readonly submit: (m: SubmitMessage) => Promise<string>;
  readonly hostname: string;
  /** `[delivery.dsn] from`; empty: MAILER-DAEMON@hostname. */
  readonly from: string;
  /** `[delivery.dsn] delay_warning` in ms; 0 turns delay warnings off. */
  readonly delayWarningMs: number;
}

/** The original message a report is about. */
export interface DsnMessage {
  readonly queueId: string;
  readonly sender: string;
  readonly arrivalTime: number;
}

/** Sends reports for the scheduler: reads the original's headers from the spool and queues the DSN. */
export class DsnNotifier {
  constructor(
    private readonly spool: Spool,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly opts: DsnNotifierOptions,
  ) {}

  /**
   * Queues one report about `recipients` of `message`. Nothing for the null
   * sender (a report about a report) or an empty list. Returns the report's
   * queue id, or undefined when none was due. Throws when it could not be queued.
   */
  async notify(
    action: DsnAction,
    message: DsnMessage,
    recipients: readonly DsnRecipient[],
    extra: { willRetryUntil?: number } = {},
  ): Promise<string | undefined> {
    if (!message.sender || !recipients.length) return undefined;
    // Undefined when the body is gone (corrupt spool entry): the report then has no headers part.
    const headers = await readSpoolHeaders(this.spool, message.queueId);
    const raw = buildDsn({
      action,
      queueId: message.queueId,
      sender: message.sender,
      arrivalTime: message.arrivalTime,
      recipients,
      headers,
      hostname: this.opts.hostname,
      from: this.opts.from,
      clock: this.clock,
      ...(extra.willRetryUntil === undefined ? {} : { willRetryUntil: extra.willRetryUntil }),
    });
    const id = await this.opts.submit({ from: '', to: [message.sender], raw });
    this.log.info(
      {
        queue_id: message.queueId,
        dsn_queue_id: id,
        to: message.sender,
        action,
        recipients: recipients.map((r) => r.address),
      },
      action === 'failed' ? 'sender notified of non-delivery' : 'sender warned of delayed delivery',
    );
    return id;
  }
}
