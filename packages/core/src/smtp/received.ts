/**
 * smtp/received.ts — the trace line smarthold adds (RFC 5321 §4.4).
 *
 *   Received: from HELO (RDNS [IP])
 *           by HOSTNAME (smarthold) with ESMTPSA id QUEUEID
 *           for <rcpt>; DATE
 *
 * The protocol keyword follows RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA).
 * "for" is written only for a single recipient, so a Bcc list is not leaked.
 * It only formats; ingress decides whether to add it.
 */
import net from 'node:net';
import { normalizeIp } from '../util/networks.js';

export interface ReceivedInfo {
  readonly helo: string | undefined;
  readonly clientHostname: string | undefined;
  readonly remoteAddress: string;
  readonly hostname: string;
  readonly esmtp: boolean;
  readonly tls: boolean;
  readonly auth: boolean;
  readonly queueId: string;
  readonly recipients: readonly string[];
  readonly date: Date;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time in UTC: "Mon, 23 Nov 2026 07:27:56 +0000". */
export function rfc5322Date(d: Date): string {
  return (
    `${DAYS[d.getUTCDay()] ?? ''}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()] ?? ''} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

/** The address literal for an IP: [192.0.2.1] or [IPv6:2001:db8::1] (RFC 5321 §4.1.3). */
export function addressLiteral(ip: string): string {
  const plain = normalizeIp(ip);
  return net.isIPv6(plain) ? `[IPv6:${plain}]` : `[${plain}]`;
}

const safe = (s: string): string => s.replace(/[^\x21-\x7e]/g, '');

/** Formats the Received field, folded, ending in CRLF. */
export function receivedLine(info: ReceivedInfo): string {
  const literal = addressLiteral(info.remoteAddress);
  const rdns =
    info.clientHostname && !info.clientHostname.startsWith('[') ? `${safe(info.clientHostname)} ` : '';
  const helo = safe(info.helo ?? '') || literal;
  const proto = `${info.esmtp ? 'ESMTP' : 'SMTP'}${info.tls ? 'S' : ''}${info.auth ? 'A' : ''}`;
  const proto2 =
    proto === 'SMTPS' ? 'ESMTPS' : proto === 'SMTPA' ? 'ESMTPA' : proto === 'SMTPSA' ? 'ESMTPSA' : proto;
  const rcpt = info.recipients.length === 1 ? `\r\n\tfor <${safe(info.recipients[0] ?? '')}>` : '';
  return (
    `Received: from ${helo} (${rdns}${literal})\r\n` +
    `\tby ${safe(info.hostname)} (smarthold) with ${proto2} id ${info.queueId}${rcpt};\r\n` +
    `\t${rfc5322Date(info.date)}\r\n`
  );
}
