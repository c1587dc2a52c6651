/**
 * notices/render.ts — the mail the quarantine sends: what each notice says and
 * the bytes of it.
 *
 * Five kinds, one Liquid template each (templates.ts finds and parses them):
 * the "we are holding mail for you" letter, the sender's and the recipient's
 * access links, and the two redirect notices. `NoticeRenderer.render` fills a
 * template with typed data and returns a complete RFC 5322 message: From, To,
 * Subject (RFC 2047 when needed), Date, Message-ID, MIME headers for one
 * quoted-printable UTF-8 text part, Auto-Submitted (RFC 3834) and, when an
 * unsubscribe URL is given, the RFC 8058 one-click pair.
 *
 * It does not send anything (the caller hands `raw` to `ctx.submit`), choose
 * recipients, mint links or throttle; and it does not DKIM-sign, which RFC
 * 8058 expects to cover List-Unsubscribe: that is the outgoing queue's job.
 */
import { fileURLToPath } from 'node:url';
import type { Liquid } from 'liquidjs';
import {
  assembleMessage,
  checkAddress,
  checkHostname,
  checkUnsubscribeUrl,
  mailboxValue,
  newMessageId,
  rfc5322Date,
  subjectField,
} from './mime.js';
import {
  checkDirectory,
  createEngine,
  locate,
  parseTemplate,
  renderTemplate,
  type ParsedTemplate,
} from './templates.js';

export { NoticeTemplateError } from './templates.js';

/** The notices, each `templates/mail/<kind>.liquid`. */
export type NoticeKind =
  'recipient-letter' | 'sender-access' | 'recipient-access' | 'redirect-confirm' | 'redirect-active';

/** The kinds in a fixed order (for check()). */
const NOTICE_KINDS: readonly NoticeKind[] = [
  'recipient-letter',
  'sender-access',
  'recipient-access',
  'redirect-confirm',
  'redirect-active',
];

/** One held message as the recipient letter lists it. */
export interface HeldSummary {
  readonly sender: string;
  readonly subject: string;
  /** When it was held, ms since the epoch. */
  readonly date: number;
  readonly size: number;
}

/** The variables of each template (plus `to`, `siteName`, `now` and `unsubscribeUrl` for all). */
export interface NoticeData {
  'recipient-letter': {
    recipient: string;
    domain: string;
    /** The held messages to list (the caller limits them); `heldCount` counts all. */
    held: readonly HeldSummary[];
    heldCount: number;
    pageUrl: string;
    discardUrl: string;
    renotifyDays: number;
    holdDays: number;
    /** Days the page links work. */
    tokenDays: number;
  };
  'sender-access': { sender: string; pageUrl: string; heldCount: number; tokenDays: number };
  'recipient-access': { recipient: string; pageUrl: string; heldCount: number; tokenDays: number };
  'redirect-confirm': { recipient: string; newAddress: string; confirmUrl: string; tokenDays: number };
  'redirect-active': { recipient: string; newAddress: string; pageUrl: string };
}

export interface NoticeRendererOptions {
  /** Operator's template directory (files with the same names override the shipped ones); '' for none. */
  readonly templatesDir: string;
  /** Header From:, e.g. 'Mail quarantine <postmaster@mx.example.net>'. */
  readonly from: string;
  /** Our host name, for Message-ID. */
  readonly hostname: string;
  /** Name of the service shown in texts. */
  readonly siteName: string;
  readonly now: () => number;
}

export interface RenderedNotice {
  /** The Subject as rendered, before RFC 2047 encoding. */
  readonly subject: string;
  /** The complete message, CRLF line ends. */
  readonly raw: Buffer;
}

/** Directory of the shipped templates (packages/plugin-quarantine/templates/mail); this file runs from dist/notices/. */
export const SHIPPED_MAIL_TEMPLATES: string = fileURLToPath(new URL('../../templates/mail', import.meta.url));

/** Example data for every kind: check() renders each once, so a broken include or filter shows at start-up. */
const SAMPLES: { readonly [K in NoticeKind]: NoticeData[K] } = {
  'recipient-letter': {
    recipient: 'user@example.com',
    domain: 'example.com',
    held: [{ sender: 'sender@example.org', subject: 'Example', date: 0, size: 1000 }],
    heldCount: 2,
    pageUrl: 'https://example.net/r/token',
    discardUrl: 'https://example.net/r/token/discard',
    renotifyDays: 10,
    holdDays: 30,
    tokenDays: 60,
  },
  'sender-access': {
    sender: 'sender@example.org',
    pageUrl: 'https://example.net/s/t',
    heldCount: 1,
    tokenDays: 7,
  },
  'recipient-access': {
    recipient: 'user@example.com',
    pageUrl: 'https://example.net/r/t',
    heldCount: 1,
    tokenDays: 7,
  },
  'redirect-confirm': {
    recipient: 'user@example.com',
    newAddress: 'user@example.org',
    confirmUrl: 'https://example.net/c/t',
    tokenDays: 7,
  },
  'redirect-active': {
    recipient: 'user@example.com',
    newAddress: 'user@example.org',
    pageUrl: 'https://example.net/r/t',
  },
};

/**
 * Renders notices from the templates.
 *
 * @example
 * const r = new NoticeRenderer({ templatesDir: '', from: 'Mail quarantine <postmaster@mx.example.net>',
 *   hostname: 'mx.example.net', siteName: 'mx.example.net', now: Date.now });
 * const n = await r.render('sender-access', 'bob@example.org',
 *   { sender: 'bob@example.org', pageUrl: 'https://mx.example.net/q/s/…', heldCount: 2, tokenDays: 7 });
 * await ctx.submit({ from: '', to: ['bob@example.org'], raw: n.raw });
 */
export class NoticeRenderer {
  private readonly dirs: readonly string[];
  private readonly liquid: Liquid;
  private readonly from: string;
  private readonly hostname: string;
  private readonly parsed = new Map<NoticeKind, Promise<ParsedTemplate>>();

  constructor(private readonly opts: NoticeRendererOptions) {
    this.dirs =
      opts.templatesDir === '' ? [SHIPPED_MAIL_TEMPLATES] : [opts.templatesDir, SHIPPED_MAIL_TEMPLATES];
    this.liquid = createEngine(this.dirs);
    this.from = mailboxValue(opts.from, 'notice From');
    this.hostname = checkHostname(opts.hostname);
  }

  /** The parsed template of a kind, read once; a failure is not cached, so a fixed file is read again. */
  private template(kind: NoticeKind): Promise<ParsedTemplate> {
    let p = this.parsed.get(kind);
    if (p === undefined) {
      p = locate(this.dirs, kind).then((file) => parseTemplate(this.liquid, file));
      this.parsed.set(kind, p);
      void p.catch(() => this.parsed.delete(kind));
    }
    return p;
  }

  /** Renders one notice to `to`. Throws NoticeTemplateError when its template is missing or broken. */
  async render<K extends NoticeKind>(
    kind: K,
    to: string,
    data: NoticeData[K],
    unsubscribeUrl?: string,
  ): Promise<RenderedNotice> {
    const toValue = checkAddress(to, 'notice To');
    const unsubscribe = unsubscribeUrl === undefined ? undefined : checkUnsubscribeUrl(unsubscribeUrl);
    const now = this.opts.now();
    const scope: Record<string, unknown> = {
      ...data,
      to,
      siteName: this.opts.siteName,
      now,
      unsubscribeUrl: unsubscribe ?? '',
    };
    const parts = await renderTemplate(this.liquid, await this.template(kind), scope);
    const fields = [
      `From: ${this.from}`,
      `To: ${toValue}`,
      subjectField(parts.subject),
      `Date: ${rfc5322Date(now)}`,
      `Message-ID: ${newMessageId(now, this.hostname)}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      'Auto-Submitted: auto-generated',
      ...unsubscribeFields(unsubscribe),
    ];
    return { subject: parts.subject, raw: assembleMessage(fields, parts.body) };
  }

  /** Parses every template and renders each once with example data; throws on the first broken one. */
  async check(): Promise<void> {
    await checkDirectory(this.opts.templatesDir);
    for (const kind of NOTICE_KINDS) {
      await this.render(kind, 'user@example.com', SAMPLES[kind], 'https://example.net/u/t');
    }
  }
}

/** RFC 2369 List-Unsubscribe with the RFC 8058 one-click POST marker, or nothing. */
function unsubscribeFields(url: string | undefined): string[] {
  if (url === undefined) return [];
  // A long URL goes on its own continuation line: white space around <...> is allowed (RFC 2369 §2).
  const value = `List-Unsubscribe: <${url}>`.length > 78 ? `\r\n <${url}>` : ` <${url}>`;
  return [`List-Unsubscribe:${value}`, 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'];
}
