/**
 * service.ts — what people (and jobs) do with held mail: release, discard,
 * redirect, preferences, access links, letters, learning.
 *
 * One object used by the web pages, the CLI and the jobs alike, so a release
 * means the same everywhere: the held copy's held recipients move to active in
 * the queue (the bytes as received, delivered once: the queue only moves
 * recipients out of `hold`), except recipients who now redirect, who get a
 * copy at their confirmed address. Notices go through `submit` (ordinary
 * mail in the queue), queued by notices/send.ts; redirects (their
 * confirmation, the copies) are redirects.ts; learning requests wait in
 * learning.ts. The data-path decision is in hook.ts.
 */
import { buffer } from 'node:stream/consumers';
import type { Clock, MessageTransaction, PluginQueue, SubmitMessage } from '@smarthold/core';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { DAY, type QuarantineConfig } from './config.js';
import type { Dialect, QuarantineDatabase } from './db.js';
import { isAddress, QuarantineInputError } from './input.js';
import { type Learn, type LearnLabel, LearningQueue } from './learning.js';
import type { NoticeData, NoticeKind, NoticeRenderer } from './notices/render.js';
import { NoticeSender } from './notices/send.js';
import { type RedirectRequest, Redirects } from './redirects.js';
import {
  type HeldFilter,
  type HeldRow,
  key,
  type RecipientAction,
  type RecipientPrefs,
  Records,
  type SenderAction,
  type SenderPrefs,
  type Unsubscribed,
  type UnsubscribeVia,
} from './records.js';
import { type TokenInfo, type TokenKind, Tokens } from './tokens.js';

/** Who acts: decides what is logged and whether the scanners learn from it. */
export interface Actor {
  readonly kind: 'sender' | 'recipient' | 'operator' | 'job';
  /** A person confirmed the action (pages with a button, the CLI): scanners may learn from it. */
  readonly person: boolean;
}

/** A held message as pages and the CLI show it. */
export interface HeldMessage {
  readonly queueId: string;
  readonly createdAt: number;
  readonly sender: string;
  readonly originIp: string;
  readonly subject: string;
  readonly size: number;
  readonly score: number;
  readonly threshold: number;
  readonly scanner: string;
  readonly rules: readonly string[];
  readonly reason: string;
  readonly action: string;
  readonly recipients: readonly string[];
  readonly state: string;
  readonly stateAt: number;
}

export type { LearnLabel } from './learning.js';

/** What the service needs. */
export interface ServiceDeps {
  readonly config: QuarantineConfig;
  // Kysely over the plugin database; typed by db.ts.
  readonly db: Kysely<QuarantineDatabase>;
  /** The SQL dialect of `db` (ctx.data.dialect). */
  readonly dialect: Dialect;
  readonly queue: PluginQueue;
  readonly submit: (m: SubmitMessage) => Promise<string>;
  readonly renderer: NoticeRenderer;
  readonly clock: Clock;
  readonly log: Logger;
  /** Base URL of the pages, no trailing slash. */
  readonly publicUrl: () => string;
  /** Is an address at a filtered receiver? (redirect targets must not be). */
  readonly isFiltered: (address: string) => Promise<boolean>;
  /** Directory for learning requests; learning is off when undefined. */
  readonly learnDir?: string;
  /** Teaches the scanners; absent when no scanner can learn (requests then wait in learnDir). */
  readonly learn?: Learn;
}

export { PAGE_REQUESTED } from './notices/send.js';
export { isAddress, QuarantineInputError } from './input.js';

function toHeld(r: HeldRow): HeldMessage {
  return {
    queueId: r.queue_id,
    createdAt: r.created_at,
    sender: r.sender,
    originIp: r.origin_ip,
    subject: r.subject,
    size: r.size,
    score: r.score,
    threshold: r.threshold,
    scanner: r.scanner,
    rules: JSON.parse(r.rules) as string[],
    reason: r.reason,
    action: r.action,
    recipients: JSON.parse(r.recipients) as string[],
    state: r.state,
    stateAt: r.state_at,
  };
}

export class QuarantineService {
  readonly records: Records;
  readonly tokens: Tokens;
  private readonly now: () => number;
  private readonly learning: LearningQueue;
  private readonly notices: NoticeSender;
  private readonly redirects: Redirects;

  constructor(private readonly deps: ServiceDeps) {
    this.now = () => deps.clock.now();
    this.records = new Records(deps.db, deps.dialect);
    this.tokens = new Tokens(deps.db, this.now);
    this.notices = new NoticeSender({
      config: deps.config,
      records: this.records,
      tokens: this.tokens,
      renderer: deps.renderer,
      submit: deps.submit,
      log: deps.log,
      now: this.now,
      url: (kind, token, suffix) => this.url(kind, token, suffix),
      link: (kind, subject) => this.link(kind, subject),
    });
    this.redirects = new Redirects({
      config: deps.config,
      records: this.records,
      tokens: this.tokens,
      queue: deps.queue,
      submit: deps.submit,
      notices: this.notices,
      log: deps.log,
      now: this.now,
      isFiltered: deps.isFiltered,
      url: (kind, token) => this.url(kind, token),
      link: (kind, subject) => this.link(kind, subject),
      raw: (queueId) => this.raw(queueId),
      finishIfDone: (queueId) => this.finishIfDone(queueId),
    });
    this.learning = new LearningQueue({
      dir: deps.learnDir,
      learn: deps.learn,
      raw: (queueId) => this.raw(queueId),
      log: deps.log,
    });
  }

  get config(): QuarantineConfig {
    return this.deps.config;
  }

  // --- links ------------------------------------------------------------------

  /** The URL of a page for a token: m (message), s (sender), r (recipient), c (confirm redirect), u (unsubscribe). */
  url(kind: TokenKind, token: string, suffix = ''): string {
    const p = { message: 'm', sender: 's', recipient: 'r', confirm: 'c', unsubscribe: 'u' }[kind];
    return `${this.deps.publicUrl()}/q/${p}/${token}${suffix}`;
  }

  /** Mints a link for a message (lives as long as the hold) or an address (token_days). */
  async link(kind: TokenKind, subject: string): Promise<string> {
    const ttl = kind === 'message' ? this.config.expire.max_age * DAY : this.config.expire.token_days * DAY;
    return this.url(kind, await this.tokens.mint(kind, kind === 'message' ? subject : key(subject), ttl));
  }

  check(token: string, kind?: TokenKind): Promise<TokenInfo | undefined> {
    return this.tokens.check(token, kind);
  }

  // --- reading ------------------------------------------------------------------

  async get(queueId: string): Promise<HeldMessage | undefined> {
    const r = await this.records.getHeld(queueId);
    return r && toHeld(r);
  }

  async list(f: HeldFilter = {}): Promise<HeldMessage[]> {
    return (await this.records.listHeld(f)).map(toHeld);
  }

  count(f: Omit<HeldFilter, 'limit' | 'offset'> = {}): Promise<number> {
    return this.records.countHeld(f);
  }

  /** The header block of a held message as received (for the pages), at most `max` bytes. */
  async headers(queueId: string, max = 64 * 1024): Promise<string> {
    const stream = this.deps.queue.open(queueId);
    let text = '';
    try {
      for await (const c of stream) {
        text += (c as Buffer).toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end >= 0) return text.slice(0, end);
        if (text.length > max) return text.slice(0, max);
      }
    } finally {
      stream.destroy();
    }
    return text;
  }

  /** The whole held message as received. */
  async raw(queueId: string): Promise<Buffer> {
    return buffer(this.deps.queue.open(queueId));
  }

  // --- acting on held mail ----------------------------------------------------------

  /**
   * Releases a held message to the recipients it is held for (redirecting
   * those who redirect now). Returns how many recipients it went to; 0 when
   * it was no longer held (a second release does nothing).
   */
  async release(queueId: string, actor: Actor, onlyFor?: string): Promise<number> {
    const held = await this.records.getHeld(queueId);
    if (held?.state !== 'held') return 0;
    const all = JSON.parse(held.recipients) as string[];
    if (onlyFor !== undefined) return this.releaseOne(queueId, actor, key(onlyFor), all);
    if (actor.person && this.config.learn.on_release) await this.requestLearning(queueId, 'ham');
    if (!(await this.records.setHeldState(queueId, 'released', this.now()))) return 0;
    const forWhom = all;
    const queued = await this.deps.queue.get(queueId);
    const inHold = (queued?.recipients ?? []).filter((r) => r.state === 'hold').map((r) => r.address);
    const release: string[] = [];
    let redirected = 0;
    for (const address of inHold) {
      if (!forWhom.includes(key(address))) continue;
      const target = await this.redirectTarget(address);
      if (target !== undefined && (await this.redirectCopy(queueId, address, target))) redirected++;
      else release.push(address);
    }
    const moved = await this.deps.queue.release(queueId, release);
    // Whatever is still held (recipients the copy is not held for, redirected ones) goes.
    await this.deps.queue.discard(queueId);
    this.deps.log.info(
      { queue_id: queueId, by: actor.kind, released: moved, redirected },
      'held message released',
    );
    return moved + redirected;
  }

  /** Releases one recipient's copy (the recipient's page); the record ends when no copy is left. */
  private async releaseOne(
    queueId: string,
    actor: Actor,
    who: string,
    all: readonly string[],
  ): Promise<number> {
    if (!all.includes(who)) return 0;
    const queued = await this.deps.queue.get(queueId);
    const address = queued?.recipients.find((r) => r.state === 'hold' && key(r.address) === who)?.address;
    if (address === undefined) return 0;
    if (actor.person && this.config.learn.on_release) await this.requestLearning(queueId, 'ham');
    const target = await this.redirectTarget(address);
    let n: number;
    if (target !== undefined && (await this.redirectCopy(queueId, address, target))) {
      n = await this.deps.queue.discard(queueId, [address]);
    } else {
      n = await this.deps.queue.release(queueId, [address]);
    }
    await this.finishIfDone(queueId);
    this.deps.log.info(
      { queue_id: queueId, by: actor.kind, recipient: who },
      'held copy released to one recipient',
    );
    return n;
  }

  /** Discards a held message. Returns false when it was no longer held. */
  async discard(queueId: string, actor: Actor): Promise<boolean> {
    const held = await this.records.getHeld(queueId);
    if (held?.state !== 'held') return false;
    if (actor.person && this.config.learn.on_discard) await this.requestLearning(queueId, 'spam');
    if (!(await this.records.setHeldState(queueId, 'discarded', this.now()))) return false;
    await this.deps.queue.discard(queueId);
    this.deps.log.info({ queue_id: queueId, by: actor.kind }, 'held message discarded');
    return true;
  }

  /** Expires a held message (age or size limit). */
  async expire(queueId: string): Promise<boolean> {
    if (!(await this.records.setHeldState(queueId, 'expired', this.now()))) return false;
    await this.deps.queue.discard(queueId);
    return true;
  }

  /** Queues a copy of a held message for a redirect target, with the trace header. */
  redirectCopy(queueId: string, original: string, target: string): Promise<boolean> {
    return this.redirects.copyHeld(queueId, original, target);
  }

  /** Queues the redirected copy of a message being received (at DATA). */
  submitRedirect(tx: MessageTransaction, original: string, target: string): Promise<string> {
    return this.redirects.copyArriving(tx, original, target);
  }

  /** The end of an address's confirmed redirect chain, or undefined. */
  redirectTarget(address: string): Promise<string | undefined> {
    return this.redirects.target(address);
  }

  /** Follows an address's confirmed redirects (bounded, loops detected). */
  redirectChain(address: string): Promise<{ to: string } | { problem: string }> {
    return this.redirects.chain(address);
  }

  // --- preferences ---------------------------------------------------------------------

  senderPrefs(address: string): Promise<SenderPrefs> {
    return this.records.sender(address);
  }

  recipientPrefs(address: string): Promise<RecipientPrefs> {
    return this.records.recipient(address);
  }

  async setSenderPrefs(
    address: string,
    prefs: { action?: SenderAction; renotifyDays?: number | null },
  ): Promise<SenderPrefs> {
    // <> is nobody's address: it is never told, so a setting for it would only silently change holds.
    if (key(address) === '') throw new QuarantineInputError('the null sender <> has no settings');
    if (prefs.renotifyDays !== undefined && prefs.renotifyDays !== null) {
      if (!Number.isInteger(prefs.renotifyDays) || prefs.renotifyDays < 0 || prefs.renotifyDays > 3650) {
        throw new QuarantineInputError('re-notify days must be a whole number from 0 to 3650');
      }
    }
    return this.records.setSender(address, prefs, this.now());
  }

  /**
   * Sets a recipient's action. Redirecting needs a confirmation from the new
   * address: `redirect` with `to` sends the confirmation mail there
   * ({@link askConfirmation}) and changes nothing else until it is confirmed
   * ({@link confirmRedirect}), unless `confirmed` (an operator's own
   * setting). `confirmationSent` names the new address even when it
   * unsubscribed and nothing was sent, so that a caller answers the same
   * either way. (A page, which must also answer in the same time, calls
   * {@link checkRedirect} and sends after answering instead.)
   */
  async setRecipientPrefs(
    address: string,
    prefs: { action: RecipientAction; to?: string; confirmed?: boolean },
  ): Promise<{ prefs: RecipientPrefs; confirmationSent?: string }> {
    if (prefs.action !== 'redirect') {
      return { prefs: await this.records.setRecipient(address, { action: prefs.action }, this.now()) };
    }
    const to = await this.redirects.check(address, prefs.to ?? '');
    if (prefs.confirmed) return { prefs: await this.redirects.apply(address, to) };
    await this.redirects.askConfirmation(address, to);
    return { prefs: await this.records.recipient(address), confirmationSent: to };
  }

  /**
   * Checks a new redirect target for a recipient: a mail address, not the
   * recipient's own, not at a filtered receiver. Returns it lower-cased;
   * throws {@link QuarantineInputError}. Reads nothing about the target's
   * own records (whether it unsubscribed), so its answer and its time say
   * nothing about them.
   */
  checkRedirect(address: string, to: string): Promise<string> {
    return this.redirects.check(address, to);
  }

  /**
   * Mails the new address `to` (as {@link checkRedirect} returned it) a link
   * that confirms the recipient's redirect there, unless it unsubscribed
   * from page-requested mail ({@link PAGE_REQUESTED}; then nothing is sent
   * and no link is made). Returns whether it was sent.
   */
  askConfirmation(address: string, to: string): Promise<boolean> {
    return this.redirects.askConfirmation(address, to);
  }

  /** Redirects asked for the address and not confirmed yet: the new address and when its link expires (newest first). */
  pendingRedirects(address: string): Promise<{ to: string; expiresAt: number }[]> {
    return this.redirects.pending(address);
  }

  /** What a confirm token asks: the recipient and the new address, or undefined. */
  confirmation(token: string): Promise<RedirectRequest | undefined> {
    return this.redirects.confirmation(token);
  }

  /** Confirms a redirect (the POST of the confirmation page). Returns what was confirmed. */
  confirmRedirect(token: string): Promise<RedirectRequest | undefined> {
    return this.redirects.confirm(token);
  }

  /** Marks a held record finished when the queue holds nothing more of it. */
  private async finishIfDone(queueId: string): Promise<void> {
    const held = await this.records.getHeld(queueId);
    if (held?.state !== 'held') return;
    const forWhom = JSON.parse(held.recipients) as string[];
    const q = await this.deps.queue.get(queueId);
    if (!q?.recipients.some((r) => r.state === 'hold' && forWhom.includes(key(r.address)))) {
      await this.records.setHeldState(queueId, 'released', this.now());
      await this.deps.queue.discard(queueId);
    }
  }

  /** Rotates an address's links: every earlier link stops working; returns a new one. */
  async rotate(kind: 'sender' | 'recipient', address: string): Promise<string> {
    await this.tokens.revoke(kind, key(address));
    return this.link(kind, address);
  }

  /**
   * "Email me an access URL": sends a fresh link for the address to that
   * address only. Sends nothing for an address we hold nothing for and know
   * nothing of, or that unsubscribed (the page says the same either way).
   */
  async sendAccess(kind: 'sender' | 'recipient', address: string): Promise<boolean> {
    const a = key(address);
    if (!isAddress(a)) return false;
    const known =
      kind === 'sender'
        ? (await this.records.sender(a)).known || (await this.records.countHeld({ sender: a })) > 0
        : (await this.records.recipient(a)).known;
    if (!known || (await this.notices.blocked(`${kind}-access`, a))) return false;
    const heldCount = await this.records.countHeld(kind === 'sender' ? { sender: a } : { recipient: a });
    const pageUrl = await this.link(kind, a);
    if (kind === 'sender') {
      await this.notice('sender-access', a, {
        sender: a,
        pageUrl,
        heldCount,
        tokenDays: this.config.expire.token_days,
      });
    } else {
      await this.notice('recipient-access', a, {
        recipient: a,
        pageUrl,
        heldCount,
        tokenDays: this.config.expire.token_days,
      });
    }
    return true;
  }

  // --- unsubscribing from page-requested mail ---------------------------------------------

  /** Whether (and how) an address unsubscribed from the mail pages send on request. */
  unsubscribed(address: string): Promise<Unsubscribed | undefined> {
    return this.records.unsubscribed(address);
  }

  /** Stops page-requested mail to an address ({@link PAGE_REQUESTED}); false when it already was. */
  async unsubscribe(address: string, via: UnsubscribeVia): Promise<boolean> {
    const added = await this.records.addUnsubscribed(address, via, this.now());
    if (added) this.deps.log.info({ to: key(address), via }, 'address unsubscribed from page-requested mail');
    return added;
  }

  /** Allows page-requested mail to an address again; false when it had not unsubscribed. */
  async resubscribe(address: string): Promise<boolean> {
    const removed = await this.records.removeUnsubscribed(address);
    if (removed) this.deps.log.info({ to: key(address) }, 'address accepts page-requested mail again');
    return removed;
  }

  // --- notices ---------------------------------------------------------------------------

  /**
   * Renders and queues a notice; returns its queue id, or undefined when the
   * address unsubscribed from this kind ({@link PAGE_REQUESTED}). Every
   * notice carries List-Unsubscribe with RFC 8058 one-click (notices/send.ts).
   */
  notice<K extends NoticeKind>(kind: K, to: string, data: NoticeData[K]): Promise<string | undefined> {
    return this.notices.notice(kind, to, data);
  }

  /** Sends the "we are holding mail for you" letter now (the caller checked the throttle). */
  recipientLetter(address: string): Promise<string | undefined> {
    return this.notices.recipientLetter(address);
  }

  /** Sends the letter if the recipient is due (mail held since the last one, interval passed). */
  letterIfDue(address: string): Promise<boolean> {
    return this.notices.letterIfDue(address);
  }

  // --- learning ------------------------------------------------------------------------------

  /** Keeps a copy of the message for the scanners to learn from (the body may be delivered and gone by then). */
  requestLearning(queueId: string, label: LearnLabel): Promise<void> {
    return this.learning.request(queueId, label);
  }

  /** Feeds waiting learning requests to the scanners. Returns how many were learnt. */
  learnPending(): Promise<number> {
    return this.learning.feed();
  }
}
