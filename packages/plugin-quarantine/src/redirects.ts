/**
 * redirects.ts — recipients who have their spammy mail sent to another
 * address: the new address checked and confirmed, the confirmed chain
 * followed, and copies sent there.
 *
 * A recipient asks on their page: the new address gets a mail with a link
 * (a `confirm` token naming both addresses), unless it unsubscribed from such
 * mail, and nothing changes until someone there confirms. An operator (CLI,
 * admin page) sets it at once. Once a redirect is on, the mail held for the
 * recipient goes to the end of the confirmed chain (followed up to
 * `redirect_max_hops`, loops detected: decide.ts) and the recipient is told
 * (redirect-active). A copy is the message as received under a trace header
 * naming the original recipient, queued as ordinary mail through `submit`;
 * the recipient's held copy then leaves the hold. It does not decide when
 * arriving mail is redirected (decide.ts, hook.ts), release held mail
 * (service.ts) or render notices (notices/).
 */
import { buffer } from 'node:stream/consumers';
import type { MessageTransaction, PluginQueue, SubmitMessage } from '@smarthold/core';
import type { Logger } from 'pino';
import { DAY, type QuarantineConfig } from './config.js';
import { resolveRedirect } from './decide.js';
import { isAddress, QuarantineInputError } from './input.js';
import type { NoticeSender } from './notices/send.js';
import { key, type RecipientPrefs, type Records } from './records.js';
import type { TokenKind, Tokens } from './tokens.js';

/** What redirects need (the service hands over its own parts). */
export interface RedirectDeps {
  readonly config: QuarantineConfig;
  readonly records: Records;
  readonly tokens: Tokens;
  readonly queue: PluginQueue;
  readonly submit: (m: SubmitMessage) => Promise<string>;
  readonly notices: NoticeSender;
  readonly log: Pick<Logger, 'info' | 'warn'>;
  readonly now: () => number;
  /** Is an address at a filtered receiver? (a target must not be). */
  readonly isFiltered: (address: string) => Promise<boolean>;
  /** The URL of a page for a token. */
  readonly url: (kind: TokenKind, token: string) => string;
  /** Mints a link for an address. */
  readonly link: (kind: TokenKind, subject: string) => Promise<string>;
  /** The held message's bytes as received. */
  readonly raw: (queueId: string) => Promise<Buffer>;
  /** Marks a held record finished when the queue holds nothing more of it. */
  readonly finishIfDone: (queueId: string) => Promise<void>;
}

/** What a confirm token asks: redirect `recipient`'s mail to `to`. */
export interface RedirectRequest {
  readonly recipient: string;
  readonly to: string;
}

/**
 * Redirect requests, confirmations and copies.
 *
 * @example
 * const to = await redirects.check('carol@aol.com', 'Carol@Example.org'); // 'carol@example.org'
 * await redirects.askConfirmation('carol@aol.com', to); // false when it unsubscribed
 */
export class Redirects {
  constructor(private readonly deps: RedirectDeps) {}

  /**
   * Checks a new target for a recipient: a mail address, not the recipient's
   * own, not at a filtered receiver. Returns it lower-cased; throws
   * {@link QuarantineInputError}. Reads nothing of the target's own records (whether it
   * unsubscribed), so its answer and its time say nothing about them.
   */
  async check(address: string, to: string): Promise<string> {
    const target = key(to);
    if (!isAddress(target)) throw new QuarantineInputError(`"${to}" is not a mail address`);
    if (target === key(address)) {
      throw new QuarantineInputError('mail cannot be redirected to the same address');
    }
    if (await this.deps.isFiltered(target)) {
      throw new QuarantineInputError(
        `${target.split('@')[1] ?? target} has the same blacklisting policy; choose an address at another provider`,
      );
    }
    return target;
  }

  /**
   * Mails the checked target a link that confirms the recipient's redirect
   * there, unless it unsubscribed from page-requested mail (then nothing is
   * sent and no link is made). Returns whether it was sent.
   */
  async askConfirmation(address: string, to: string): Promise<boolean> {
    const { config, notices, tokens } = this.deps;
    if (await notices.blocked('redirect-confirm', to)) return false;
    const token = await tokens.mint('confirm', `${key(address)}\n${to}`, config.expire.token_days * DAY);
    await notices.notice('redirect-confirm', to, {
      recipient: key(address),
      newAddress: to,
      confirmUrl: this.deps.url('confirm', token),
      tokenDays: config.expire.token_days,
    });
    return true;
  }

  /** Redirects asked for the address and not confirmed yet: the new address and when its link expires (newest first). */
  async pending(address: string): Promise<{ to: string; expiresAt: number }[]> {
    const prefix = `${key(address)}\n`;
    return (await this.deps.tokens.live('confirm', prefix, 10)).map((t) => ({
      to: t.subject.slice(prefix.length),
      expiresAt: t.expiresAt,
    }));
  }

  /** What a confirm token asks, or undefined. */
  async confirmation(token: string): Promise<RedirectRequest | undefined> {
    const t = await this.deps.tokens.check(token, 'confirm');
    if (!t) return undefined;
    const [recipient = '', to = ''] = t.subject.split('\n');
    return { recipient, to };
  }

  /** Confirms a redirect (the POST of the confirmation page): the token is used up. Returns what was confirmed. */
  async confirm(token: string): Promise<RedirectRequest | undefined> {
    const c = await this.confirmation(token);
    if (!c) return undefined;
    await this.deps.tokens.revoke('confirm', `${c.recipient}\n${c.to}`);
    if (await this.deps.isFiltered(c.to)) throw new QuarantineInputError(`${c.to} is at a filtered domain`);
    await this.apply(c.recipient, c.to);
    return c;
  }

  /** Turns a redirect on, sends the held mail there and tells the recipient. */
  async apply(address: string, to: string): Promise<RecipientPrefs> {
    const { records, queue } = this.deps;
    const prefs = await records.setRecipient(
      address,
      { action: 'redirect', redirectTo: to },
      this.deps.now(),
    );
    let sent = 0;
    const target = await this.target(address);
    const held = target === undefined ? [] : await records.listHeld({ recipient: address, limit: 10_000 });
    for (const h of held) {
      if (target !== undefined && (await this.copyHeld(h.queue_id, address, target))) {
        await queue.discard(h.queue_id, [address]);
        sent++;
        await this.deps.finishIfDone(h.queue_id);
      }
    }
    await this.deps.notices.notice('redirect-active', address, {
      recipient: key(address),
      newAddress: to,
      pageUrl: await this.deps.link('recipient', address),
    });
    this.deps.log.info({ recipient: key(address), to, held_sent: sent }, 'redirect confirmed');
    return prefs;
  }

  /** The end of an address's confirmed redirect chain, or undefined. */
  async target(address: string): Promise<string | undefined> {
    const r = await this.chain(address);
    return 'to' in r ? r.to : undefined;
  }

  /** Follows an address's confirmed redirects (bounded, loops detected). */
  chain(address: string): Promise<{ to: string } | { problem: string }> {
    return resolveRedirect(
      address,
      async (a) => {
        const q = await this.deps.records.recipient(a);
        return q.action === 'redirect' && q.redirectTo ? q.redirectTo : undefined;
      },
      this.deps.config.redirect_max_hops,
    );
  }

  /** Queues a copy of a held message for a target, and records it; false when the body cannot be read. */
  async copyHeld(queueId: string, original: string, target: string): Promise<boolean> {
    let body: Buffer;
    try {
      body = await this.deps.raw(queueId);
    } catch (err) {
      this.deps.log.warn({ queue_id: queueId, err }, 'held message body unreadable; not redirected');
      return false;
    }
    const queued = await this.deps.queue.get(queueId);
    await this.submitCopy(queued?.sender ?? '', original, target, body);
    await this.deps.records.addEvents([
      {
        at: this.deps.now(),
        queue_id: queueId,
        sender: key(queued?.sender ?? ''),
        recipient: key(original),
        ip: '',
        outcome: `redirected to ${target}`,
      },
    ]);
    return true;
  }

  /** Queues the copy of a message being received (at DATA) for a target. */
  async copyArriving(tx: MessageTransaction, original: string, target: string): Promise<string> {
    return this.submitCopy(tx.from, original, target, await buffer(tx.openMessage()));
  }

  /** Queues a copy for a target, under a trace header naming the original recipient. */
  private submitCopy(from: string, original: string, target: string, body: Buffer): Promise<string> {
    const trace = `${this.deps.config.trace_header}: <${original.replace(/[\r\n<>]/g, '')}>\r\n`;
    return this.deps.submit({ from, to: [target], raw: Buffer.concat([Buffer.from(trace), body]) });
  }
}
