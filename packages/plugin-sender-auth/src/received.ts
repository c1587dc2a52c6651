/**
 * received.ts — parse one Received header field into "who handed it over".
 *
 * RFC 5321 §4.4 defines the trace line as `FROM Extended-Domain BY Domain
 * [VIA] [WITH] [ID] [FOR] ; date`, with the connecting address in the TCP-info
 * comment: `from HELO (rDNS [IP])`. Real MTAs write several dialects; this
 * module reads those of Postfix, Exim, Sendmail, qmail, Microsoft Exchange /
 * Office 365 and Gmail, IPv4 and IPv6 (with or without the "IPv6:" prefix of
 * RFC 5321 §4.1.3), and local hand-overs (qmail "invoked by uid", Postfix
 * "from userid", Sendmail "(from user@host)", Exim "with local", lines with no
 * `from` clause at all).
 *
 * It parses one line and says what the line claims; it does not decide
 * whether to believe it (origin.ts does) and never guesses: a line with a
 * `from` clause but no address it can find is "unparseable".
 */
import net from 'node:net';
import { normalizeIp } from '@smarthold/core';

/** What one Received line says. Plain JSON data. */
export type ParsedReceived =
  | {
      /** A hop over the network: `ip` connected to `by`. */
      readonly kind: 'hop';
      readonly ip: string;
      /** The HELO/EHLO name as recorded, when the line has one. */
      readonly helo?: string;
      /** The reverse-DNS name as recorded, when the line has one. */
      readonly rdns?: string;
      readonly by?: string;
      readonly with?: string;
    }
  | {
      /** A hand-over inside one host (local submission, qmail's second line, re-injection by a forwarder). */
      readonly kind: 'local';
      readonly by?: string;
      readonly note: string;
    }
  | { readonly kind: 'unparseable'; readonly reason: string };

type Item = { readonly t: 'word'; readonly text: string } | { readonly t: 'comment'; readonly text: string };

const KEYWORDS = new Set(['from', 'by', 'via', 'with', 'id', 'for']);
const LOCAL_PROTOCOLS = /^(local(-[a-z]+)?|mapi|http|https|imap|utf8?smtp-local)$/i;
const QMAIL_LOCAL = /^qmail \d+ invoked (from network|by uid \d+|by alias|for bounce|for [\w.-]+)$/i;

/** Splits the part before the date into depth-0 words and (flattened) comments. */
function tokenize(value: string): Item[] {
  const items: Item[] = [];
  let depth = 0;
  let word = '';
  let comment = '';
  const flushWord = (): void => {
    if (word) items.push({ t: 'word', text: word });
    word = '';
  };
  for (const ch of value) {
    if (depth === 0) {
      if (ch === ';') break;
      if (ch === '(') {
        flushWord();
        depth = 1;
        comment = '';
      } else if (/\s/.test(ch)) flushWord();
      else word += ch;
    } else if (ch === '(') {
      depth++;
      comment += ' ';
    } else if (ch === ')') {
      depth--;
      if (depth === 0) items.push({ t: 'comment', text: comment.trim().replace(/\s+/g, ' ') });
      else comment += ' ';
    } else comment += ch;
  }
  flushWord();
  return items;
}

/** A valid IP from a literal or token ("[IPv6:2001:db8::1]", "[192.0.2.1]:25", "user@192.0.2.1", "fe80::1%12"). */
export function ipFromToken(token: string): string | undefined {
  let t = token.trim();
  const bracket = /^\[([^\]]*)\](?::\d+)?$/.exec(t);
  if (bracket) t = bracket[1] ?? '';
  t = t
    .replace(/^.*@/, '')
    .replace(/^IPv6:/i, '')
    .replace(/%[\w.-]+$/, '');
  if (!t || net.isIP(t) === 0) return undefined;
  return normalizeIp(t.toLowerCase());
}

const stripDot = (s: string): string => s.replace(/\.$/, '');

/** Reads the pieces of a from clause. */
function fromClause(items: readonly Item[]): { ip?: string; helo?: string; rdns?: string } {
  const first = items[0]?.t === 'word' ? items[0].text : undefined;
  let helo: string | undefined;
  let rdns: string | undefined;
  let ip: string | undefined;
  let bareIp: string | undefined;
  for (const item of items) {
    if (item.t !== 'comment') continue;
    let text = item.text;
    // qmail: "(HELO name)"; Exim: "helo=name" inside the TCP-info comment.
    const qmailHelo = /^HELO\s+(\S+)$/i.exec(text);
    if (qmailHelo) {
      helo ??= qmailHelo[1];
      continue;
    }
    text = text.replace(/\bhelo=(\S+)/i, (_m, h: string) => {
      helo ??= h;
      return ' ';
    });
    text = text.replace(/\b(ident|port)=\S+/gi, ' ');
    const tokens = text.split(' ').filter(Boolean);
    tokens.forEach((tok, i) => {
      if (ip !== undefined) return;
      if (tok.startsWith('[')) {
        const found = ipFromToken(tok);
        if (found !== undefined) {
          ip = found;
          // Postfix / Sendmail / Gmail: "(rdns [ip])", "(user@rdns [ip])", "(rdns. [ip])".
          const prev = tokens[i - 1];
          if (prev !== undefined && !prev.startsWith('[')) {
            const name = stripDot(prev.replace(/^.*@/, ''));
            if (name && name.toLowerCase() !== 'unknown') rdns = name;
          }
        }
      } else bareIp ??= ipFromToken(tok);
    });
  }
  // qmail and Exchange write the address bare: "(192.0.2.1)", "(2603:10a6::12)".
  ip ??= bareIp;
  if (first !== undefined) {
    const literal = ipFromToken(first);
    if (ip === undefined) ip = literal;
    else if (literal === undefined && helo !== undefined && first.toLowerCase() !== 'unknown') {
      // Exim / qmail: the first word is the rDNS name when the HELO is given separately.
      rdns ??= stripDot(first);
    }
    if (helo === undefined && first.toLowerCase() !== 'unknown') helo = first;
  }
  return {
    ...(ip === undefined ? {} : { ip }),
    ...(helo === undefined ? {} : { helo }),
    ...(rdns === undefined || rdns === helo ? {} : { rdns }),
  };
}

/** The word after a depth-0 keyword, if the keyword is present. */
function after(items: readonly Item[], keyword: string): string | undefined {
  const i = items.findIndex((x) => x.t === 'word' && x.text.toLowerCase() === keyword);
  const next = i >= 0 ? items[i + 1] : undefined;
  return next?.t === 'word' ? next.text : undefined;
}

/**
 * Parses the value of one Received field (unfolded or not).
 *
 * @example
 * parseReceived('from mx.example.org (mx.example.org [192.0.2.7]) by relay.example.net (Postfix) with ESMTPS id 4AbC; Mon, 1 Jan 2024 00:00:00 +0000');
 * // { kind: 'hop', ip: '192.0.2.7', helo: 'mx.example.org', by: 'relay.example.net', with: 'ESMTPS' }
 */
export function parseReceived(value: string): ParsedReceived {
  const items = tokenize(value.replace(/\s+/g, ' ').trim());
  const by = after(items, 'by');
  const withProto = after(items, 'with');
  const extra = { ...(by === undefined ? {} : { by }) };
  const firstWord = items.findIndex((x) => x.t === 'word');
  const leading = items.slice(0, firstWord < 0 ? items.length : firstWord);
  const qmail = leading.find((x) => QMAIL_LOCAL.test(x.text));
  if (qmail) return { kind: 'local', ...extra, note: qmail.text };
  const head = items[firstWord];
  if (head === undefined || head.text.toLowerCase() !== 'from') {
    // RFC 5321 §4.4 requires a from clause for SMTP hops; a line without one
    // was written for a hand-over inside the host (Postfix pickup, Sendmail
    // submit, Gmail's internal "by 2002:..." lines).
    if (by !== undefined) return { kind: 'local', ...extra, note: leading[0]?.text ?? 'no from clause' };
    return { kind: 'unparseable', reason: 'neither a from nor a by clause' };
  }
  const rest = items.slice(firstWord + 1);
  const end = rest.findIndex((x) => x.t === 'word' && KEYWORDS.has(x.text.toLowerCase()));
  const clause = fromClause(end < 0 ? rest : rest.slice(0, end));
  if (clause.ip === undefined) {
    if (withProto !== undefined && LOCAL_PROTOCOLS.test(withProto)) {
      return { kind: 'local', ...extra, note: `with ${withProto}` };
    }
    return { kind: 'unparseable', reason: 'no IP address in the from clause' };
  }
  return {
    kind: 'hop',
    ip: clause.ip,
    ...(clause.helo === undefined ? {} : { helo: clause.helo }),
    ...(clause.rdns === undefined ? {} : { rdns: clause.rdns }),
    ...extra,
    ...(withProto === undefined ? {} : { with: withProto }),
  };
}
