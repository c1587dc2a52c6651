/**
 * notices/send.ts — which notice goes to whom, and queuing it.
 *
 * Renders a notice (render.ts) with its List-Unsubscribe link and queues it
 * as ordinary mail through `submit`, so it is retried like any message. Every
 * notice carries RFC 8058 one-click unsubscribe: mail to a recipient about
 * their own held mail points at their discard page; mail a page sends on
 * request to an address someone typed points at an unsubscribe page of its
 * own (/q/u/TOKEN), and an address that used it gets no such mail again.
 * Also the recipient letter ("we are holding mail for you") and its
 * throttle. It does not decide when a letter is wanted (hook.ts, jobs.ts) or
 * what a page answers (the page must answer the same whether mail was sent).
 */
import type { SubmitMessage } from '@smarthold/core';
import type { Logger } from 'pino';
import { DAY, type QuarantineConfig } from '../config.js';
import { key, type Records } from '../records.js';
import type { TokenKind, Tokens } from '../tokens.js';
import type { NoticeData, NoticeKind, NoticeRenderer } from './render.js';

/**
 * Notices a page sends because a visitor typed or chose the address: an
 * address that unsubscribed gets none of them again (recipient letters and
 * the redirect-active notice follow the recipient's own settings instead).
 */
export const PAGE_REQUESTED: ReadonlySet<NoticeKind> = new Set<NoticeKind>([
  'sender-access',
  'recipient-access',
  'redirect-confirm',
]);

/** What the sender needs (the service hands over its own parts). */
export interface NoticeSenderDeps {
  readonly config: QuarantineConfig;
  readonly records: Records;
  readonly tokens: Tokens;
  readonly renderer: NoticeRenderer;
  readonly submit: (m: SubmitMessage) => Promise<string>;
  readonly log: Pick<Logger, 'info'>;
  readonly now: () => number;
  /** The URL of a page for a token. */
  readonly url: (kind: TokenKind, token: string, suffix?: string) => string;
  /** Mints a link for an address (or a message). */
  readonly link: (kind: TokenKind, subject: string) => Promise<string>;
}

/**
 * Queues notices.
 *
 * @example
 * const id = await notices.notice('sender-access', 'a@example.org', { sender, pageUrl, heldCount, tokenDays });
 */
export class NoticeSender {
  constructor(private readonly deps: NoticeSenderDeps) {}

  /** True (and logged) when `kind` is page-requested mail and `to` unsubscribed from it. */
  async blocked(kind: NoticeKind, to: string): Promise<boolean> {
    if (!PAGE_REQUESTED.has(kind) || (await this.deps.records.unsubscribed(to)) === undefined) return false;
    this.deps.log.info({ notice: kind, to: key(to) }, 'notice not sent: the address unsubscribed');
    return true;
  }

  /**
   * Renders and queues a notice; returns its queue id, or undefined when the
   * address unsubscribed from this kind ({@link PAGE_REQUESTED}).
   */
  async notice<K extends NoticeKind>(kind: K, to: string, data: NoticeData[K]): Promise<string | undefined> {
    if (await this.blocked(kind, to)) return undefined;
    const unsubscribe =
      kind === 'recipient-letter'
        ? (data as NoticeData['recipient-letter']).discardUrl
        : kind === 'recipient-access' || kind === 'redirect-active'
          ? `${await this.deps.link('recipient', to)}/discard`
          : await this.deps.link('unsubscribe', to);
    const n = await this.deps.renderer.render(kind, to, data, unsubscribe);
    const id = await this.deps.submit({
      from: this.deps.config.notice.envelope_from,
      to: [to],
      raw: n.raw,
    });
    this.deps.log.info({ notice: kind, to, queue_id: id }, 'notice queued');
    return id;
  }

  /** Sends the "we are holding mail for you" letter now (the caller checked the throttle). */
  async recipientLetter(address: string): Promise<string | undefined> {
    const { config, records, tokens, url } = this.deps;
    const a = key(address);
    const held = await records.listHeld({ recipient: a, limit: 10 });
    const heldCount = await records.countHeld({ recipient: a });
    const recipientToken = await tokens.mint('recipient', a, config.expire.token_days * DAY);
    return this.notice('recipient-letter', a, {
      recipient: a,
      domain: a.split('@')[1] ?? '',
      held: held.map((h) => ({
        sender: h.sender,
        subject: h.subject,
        date: h.created_at,
        size: h.size,
      })),
      heldCount,
      pageUrl: url('recipient', recipientToken),
      discardUrl: url('recipient', recipientToken, '/discard'),
      renotifyDays: config.notice.recipient_interval,
      holdDays: config.expire.max_age,
      tokenDays: config.expire.token_days,
    });
  }

  /** Sends the letter if the recipient is due (mail held since the last one, interval passed). */
  async letterIfDue(address: string): Promise<boolean> {
    const due = await this.deps.records.claimRecipientNotice(
      address,
      this.deps.now(),
      this.deps.config.notice.recipient_interval * DAY,
    );
    if (due) await this.recipientLetter(address);
    return due;
  }
}
