/**
 * hook.ts — the data hook: from a received message to a verdict.
 *
 * 1. Ask sender-auth who the sender is and which recipients are filtered.
 * 2. Scan only when the answer can change the outcome (decide.ts scanReason).
 * 3. Clean mail: `continue`, nothing written (the hot path stays free of
 *    database writes).
 * 4. Spammy mail: gather preferences and counters, decide per recipient
 *    (decide.ts), record why, queue redirects and letters, and answer one
 *    verdict: reject with the release URL (held for all), a plain reject, or
 *    per-recipient outcomes.
 * Every step is recorded in the transaction's results, so `smarthold
 * explain` tells why a scan ran or not and what each recipient got.
 */
import {
  type MessageTransaction,
  type MessageVerdict,
  type RecipientOutcome,
  type ScanVerdict,
  type SpamScanner,
  verdict,
} from '@smarthold/core';
import type { SenderAuthService } from '@smarthold/plugin-sender-auth';
import type { Logger } from 'pino';
import {
  cell,
  decideMessage,
  decideRecipient,
  type MessageFacts,
  type RecipientDecision,
  type RecipientFacts,
  scanReason,
} from './decide.js';
import { key } from './records.js';
import { DAY } from './config.js';
import type { QuarantineService } from './service.js';
import { TOKEN_RE } from './tokens.js';

/** How much of a spammy message is searched for our own release links. */
const QUOTE_SEARCH_BYTES = 512 * 1024;

/** What the hook works with. */
export interface HookDeps {
  readonly service: QuarantineService;
  readonly auth: SenderAuthService;
  readonly scanner: SpamScanner;
  readonly log: Logger;
  readonly now: () => number;
  /** Base URL of the pages (for finding quoted release links). */
  readonly publicUrl: () => string;
  /** [0, 100) for the random scan sample; injectable for tests. */
  readonly dice?: () => number;
}

/** True when the address or its domain (or a parent domain) is in the list. */
export function listed(list: readonly string[], address: string): boolean {
  const a = key(address);
  if (list.includes(a)) return true;
  let d = a.includes('@') ? a.slice(a.lastIndexOf('@') + 1) : a;
  while (d) {
    if (list.includes(d)) return true;
    const dot = d.indexOf('.');
    if (dot < 0) break;
    d = d.slice(dot + 1);
  }
  return false;
}

/** The start of the message, where a quoted release link would be. */
async function readHead(tx: MessageTransaction): Promise<string> {
  const stream = tx.openMessage();
  let head = '';
  try {
    for await (const chunk of stream) {
      head += (chunk as Buffer).toString('latin1');
      if (head.length >= QUOTE_SEARCH_BYTES) break;
    }
  } finally {
    stream.destroy();
  }
  return head.slice(0, QUOTE_SEARCH_BYTES);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Builds the data hook. */
export function createDataHook(deps: HookDeps): (tx: MessageTransaction) => Promise<MessageVerdict> {
  const { service, auth, scanner } = deps;
  const cfg = service.config;
  const dice = deps.dice ?? (() => Math.random() * 100);

  /** Finds one of our release links in the message with a free pass left, and takes the pass. */
  const freePass = async (head: string): Promise<string | undefined> => {
    if (cfg.free_passes === 0) return undefined;
    const re = new RegExp(`${escapeRe(deps.publicUrl())}/q/m/([A-Za-z0-9_-]{22})`, 'g');
    for (const m of head.matchAll(re)) {
      const token = m[1] ?? '';
      if (!TOKEN_RE.test(token)) continue;
      const t = await service.check(token, 'message');
      if (t && (await service.records.takeFreePass(t.subject, cfg.free_passes))) return t.subject;
    }
    return undefined;
  };

  const recipientFacts = async (address: string, filtered: boolean): Promise<RecipientFacts> => {
    const p = await service.records.recipient(address);
    let redirect: { redirectTo?: string; redirectProblem?: string } = {};
    if (p.action === 'redirect') {
      const r = await service.redirectChain(address);
      redirect = 'to' in r ? { redirectTo: r.to } : { redirectProblem: r.problem };
    }
    return {
      address,
      filtered,
      action: p.action,
      ...redirect,
      special: listed(cfg.special_recipients, address),
      popular: p.spamCount >= cfg.popular_threshold,
    };
  };

  return async (tx) => {
    const c = await auth.classify(tx);
    const filteredMap = await auth.filterRecipients(tx);
    const filtered = (r: string): boolean => filteredMap[r]?.filtered ?? false;
    const anyFiltered = tx.to.some(filtered);
    const originIp = ('ip' in c.origin ? c.origin.ip : undefined) ?? tx.session.remoteAddress;
    const why = scanReason(
      {
        ours: c.ours,
        anyFiltered,
        fromOurNetworks: c.origin.kind === 'internal',
        fromOurDomains: c.ourDomain !== undefined,
        specialSender: listed(cfg.scan.special_senders, tx.from),
        dice: dice(),
      },
      cfg.scan,
    );
    if (!why.scan) {
      tx.results.set('scan', { ran: false, why: why.why });
      return verdict.next();
    }
    const v: ScanVerdict = await scanner.scan(tx, {
      queueId: tx.queueId,
      from: tx.from,
      to: tx.to,
      clientIp: tx.session.remoteAddress,
      originIp,
      ...(tx.session.helo === undefined ? {} : { helo: tx.session.helo }),
      ...(tx.session.user === undefined ? {} : { user: tx.session.user }),
    });
    tx.results.set('scan', {
      ran: true,
      why: why.why,
      decisive: why.decisive,
      scanner: v.scanner,
      score: v.score,
      threshold: v.threshold,
      spam: v.isSpam,
      rules: v.rules.slice(0, 20).map((r) => r.name),
      ...(v.failure === undefined ? {} : { failure: v.failure }),
    });
    if (!v.isSpam || !why.decisive) return verdict.next();
    return onSpam(tx, v, c, filtered, originIp);
  };

  async function onSpam(
    tx: MessageTransaction,
    v: ScanVerdict,
    c: Awaited<ReturnType<SenderAuthService['classify']>>,
    filtered: (r: string) => boolean,
    originIp: string,
  ): Promise<MessageVerdict> {
    const now = deps.now();
    const passFor = await freePass(await readHead(tx));
    const sender = await service.records.sender(tx.from);
    const intervalDays = sender.renotifyDays ?? cfg.notice.sender_interval;
    const toldAt = c.ours && c.okToBounce ? await service.records.senderNotifiedAt(tx.from, originIp) : 0;
    const facts: MessageFacts = {
      ours: c.ours,
      okToBounce: c.okToBounce,
      spam: true,
      senderAction: sender.action,
      senderRecentlyTold: toldAt > 0 && now - toldAt < intervalDays * DAY,
      keepForRecord:
        sender.action === 'discard' &&
        cfg.keep_every > 0 &&
        (sender.discardedCount + 1) % cfg.keep_every === 0,
      freePass: passFor !== undefined,
    };
    const decisions = new Map<string, RecipientDecision>();
    for (const r of tx.to) decisions.set(r, decideRecipient(facts, await recipientFacts(r, filtered(r))));
    const whole = decideMessage([...decisions.values()]);
    for (const [r, d] of decisions) {
      tx.results.set(
        'decision',
        { ...d, cell: cell(c.ours, filtered(r)) },
        {
          recipient: r,
        },
      );
    }
    if (passFor !== undefined) tx.results.set('free_pass', passFor);
    tx.results.set('outcome', whole.kind);

    // Redirected copies are queued whatever happens to the rest.
    for (const [r, d] of decisions) {
      if (d.kind !== 'redirect') continue;
      await service.records.countRecipientSpam(r, now, false);
      await service.submitRedirect(tx, r, d.to);
    }
    const senderDiscards = [...decisions.values()].some(
      (d) => d.kind === 'discard' && d.why.endsWith('sender chose discard'),
    );
    if (tx.from) await service.records.countSenderSpam(tx.from, now, senderDiscards);
    const events = [...decisions].map(([r, d]) => ({
      at: now,
      queue_id: tx.queueId,
      sender: key(tx.from),
      recipient: key(r),
      ip: originIp,
      outcome: whole.kind === 'reject-hold' ? 'rejected-held' : whole.kind === 'bounce' ? 'bounced' : d.kind,
    }));
    await service.records.addEvents(events);

    if (whole.kind === 'bounce') {
      return verdict.reject(cfg.reject.bounce_text, { code: 550, enhanced: '5.7.1' });
    }
    // The copy is held for every recipient that was not dropped or redirected.
    const heldFor = [...decisions]
      .filter(([, d]) =>
        whole.kind === 'reject-hold' ? d.kind !== 'discard' && d.kind !== 'redirect' : d.kind === 'hold',
      )
      .map(([r]) => r);
    const reason = [...new Set([...decisions.values()].map((d) => d.why))].join('; ');
    if (heldFor.length) {
      await service.records.addHeld(
        {
          queue_id: tx.queueId,
          created_at: now,
          sender: tx.from,
          sender_key: key(tx.from),
          origin_ip: originIp,
          subject: (tx.headers.first('subject') ?? '').replace(/[\r\n]+/g, ' ').slice(0, 300),
          size: tx.size,
          score: v.score,
          threshold: v.threshold,
          scanner: v.scanner,
          rules: JSON.stringify(v.rules.slice(0, 50).map((r) => r.name)),
          reason,
          action: whole.kind === 'reject-hold' ? 'reject' : 'silent',
          recipients: JSON.stringify(heldFor.map(key)),
        },
        now,
      );
    }
    // Letters: counted for every held recipient who is to be told; sent when due.
    for (const [r, d] of decisions) {
      const held = heldFor.includes(r);
      if (d.kind === 'redirect') continue;
      const notify = (d.kind === 'hold' || d.kind === 'hold-reject') && d.notify && held;
      await service.records.countRecipientSpam(r, now, notify);
      if (notify) await service.letterIfDue(r);
    }
    if (whole.kind === 'reject-hold') {
      await service.records.setSenderNotified(tx.from, originIp, now);
      const url = await service.link('message', tx.queueId);
      tx.results.set('release_url', url);
      return verdict.reject([cfg.reject.text, url], {
        code: cfg.reject.code,
        enhanced: cfg.reject.enhanced,
        hold: { reason: `quarantine: ${reason}` },
      });
    }
    const outcomes: Record<string, RecipientOutcome> = {};
    for (const [r, d] of decisions) {
      if (d.kind === 'hold') outcomes[r] = { kind: 'hold', reason: `quarantine: ${d.why}` };
      else if (d.kind === 'discard') outcomes[r] = { kind: 'discard', reason: `quarantine: ${d.why}` };
      else if (d.kind === 'redirect')
        outcomes[r] = { kind: 'discard', reason: `quarantine: redirected to ${d.to}` };
    }
    return verdict.recipients(outcomes);
  }
}
