/**
 * decide.ts — the decision matrix, per recipient, and the scan triggers.
 *
 * Pure functions over facts gathered elsewhere (sender-auth's classification,
 * the scanner's verdict, preferences and counters from records.ts): no I/O,
 * no clock. The matrix (REFERENCE.md):
 *
 *   spammy message        | sender ours                  | sender not ours
 *   to a filtered domain  | hold, reject with URL,       | hold silently,
 *                         | tell the recipient           | tell the recipient
 *   to any other domain   | hold, reject with URL        | let it through
 *
 * then the preferences (recipient: drop / redirect; sender: discard / bounce)
 * and the heuristics (never bounce to <>, special and popular recipients,
 * the per-IP sender throttle, free passes for bounces quoting our links,
 * every Nth discarded message kept). A message that is not spammy always
 * passes. service.ts turns the decisions into a verdict and records.
 */

/** What happens to one recipient of a spammy (or clean) message. */
export type RecipientDecision =
  | { readonly kind: 'deliver'; readonly why: string }
  /** Held; the message is accepted (250). `notify`: the recipient gets a letter (throttled). */
  | { readonly kind: 'hold'; readonly notify: boolean; readonly why: string }
  /** Held, and the whole message is refused at end of DATA with the release URL. */
  | { readonly kind: 'hold-reject'; readonly notify: boolean; readonly why: string }
  | { readonly kind: 'discard'; readonly why: string }
  /** Delivered to another address instead (a copy with a trace header). */
  | { readonly kind: 'redirect'; readonly to: string; readonly why: string }
  /** The whole message is refused at end of DATA, nothing held (sender chose "bounce"). */
  | { readonly kind: 'bounce'; readonly why: string };

/** Facts about the message and its sender. */
export interface MessageFacts {
  /** Sender-auth: our domain, our network, or SPF pass. */
  readonly ours: boolean;
  /** Sender-auth: may the sender be told (never <>). */
  readonly okToBounce: boolean;
  readonly spam: boolean;
  readonly senderAction: 'quarantine' | 'discard' | 'bounce';
  /** The sender was told (rejected with a URL) from this IP within its interval. */
  readonly senderRecentlyTold: boolean;
  /** This message is the Nth discarded one of a sender who chose discard: keep it. */
  readonly keepForRecord: boolean;
  /** The message quotes one of our release links and that held message has free passes left. */
  readonly freePass: boolean;
}

/** Facts about one recipient. */
export interface RecipientFacts {
  readonly address: string;
  readonly filtered: boolean;
  readonly action: 'hold' | 'drop' | 'redirect';
  /** The end of the confirmed redirect chain, when action is redirect and the chain resolves. */
  readonly redirectTo?: string;
  /** Why a redirect chain did not resolve (loop, too long). */
  readonly redirectProblem?: string;
  /** A special recipient (forwarding target): told in preference to the sender. */
  readonly special: boolean;
  /** Spammy messages seen for this recipient reached the popular threshold. */
  readonly popular: boolean;
}

/** The matrix cell, for traces and records. */
export function cell(ours: boolean, filtered: boolean): string {
  return `${ours ? 'ours' : 'not-ours'}/${filtered ? 'filtered' : 'unfiltered'}`;
}

/**
 * Decides for one recipient.
 *
 * @example
 * decideRecipient({ ours: true, okToBounce: true, spam: true, senderAction: 'quarantine', senderRecentlyTold: false, keepForRecord: false, freePass: false },
 *   { address: 'a@aol.com', filtered: true, action: 'hold', special: false, popular: false });
 * // { kind: 'hold-reject', notify: true, why: 'ours/filtered: held, sender told, recipient told' }
 */
export function decideRecipient(m: MessageFacts, r: RecipientFacts): RecipientDecision {
  const where = cell(m.ours, r.filtered);
  if (!m.spam) return { kind: 'deliver', why: 'not spammy' };
  if (m.freePass) return { kind: 'deliver', why: 'quotes our release link (free pass)' };
  if (!m.ours && !r.filtered) return { kind: 'deliver', why: `${where}: let through` };
  if (r.action === 'drop') return { kind: 'discard', why: `${where}: recipient chose drop` };
  if (r.action === 'redirect') {
    if (r.redirectTo !== undefined) {
      return { kind: 'redirect', to: r.redirectTo, why: `${where}: recipient redirects to ${r.redirectTo}` };
    }
    // A broken chain: hold, and the recipient hears of it through the letter.
    return { kind: 'hold', notify: true, why: `${where}: redirect not usable (${r.redirectProblem ?? '?'})` };
  }
  if (!m.ours) return { kind: 'hold', notify: true, why: `${where}: held silently, recipient told` };
  // Sender is ours from here on.
  if (m.senderAction === 'discard') {
    return m.keepForRecord
      ? { kind: 'hold', notify: false, why: `${where}: sender chose discard, this one kept for the record` }
      : { kind: 'discard', why: `${where}: sender chose discard` };
  }
  if (!m.okToBounce)
    return { kind: 'hold', notify: true, why: `${where}: never bounce to <>, recipient told` };
  if (m.senderAction === 'bounce') return { kind: 'bounce', why: `${where}: sender chose bounce` };
  if (r.special)
    return { kind: 'hold', notify: true, why: `${where}: special recipient told instead of sender` };
  if (r.popular)
    return { kind: 'hold', notify: true, why: `${where}: popular recipient told instead of sender` };
  if (m.senderRecentlyTold) {
    return {
      kind: 'hold',
      notify: r.filtered,
      why: `${where}: sender already told from this IP, held silently${r.filtered ? ', recipient told' : ''}`,
    };
  }
  return {
    kind: 'hold-reject',
    notify: r.filtered,
    why: `${where}: held, sender told${r.filtered ? ', recipient told' : ''}`,
  };
}

/** What the message as a whole gets. */
export type MessageDecision =
  | { readonly kind: 'accept' }
  /** Refuse with the release URL; every recipient's copy is held. */
  | { readonly kind: 'reject-hold' }
  /** Refuse plainly, nothing held. */
  | { readonly kind: 'bounce' };

/** Whole-message outcome: a reject with URL wins over a plain bounce, which wins over accepting. */
export function decideMessage(decisions: readonly RecipientDecision[]): MessageDecision {
  if (decisions.some((d) => d.kind === 'hold-reject')) return { kind: 'reject-hold' };
  if (decisions.some((d) => d.kind === 'bounce')) return { kind: 'bounce' };
  return { kind: 'accept' };
}

/** Facts the scan triggers weigh. */
export interface ScanFacts {
  readonly ours: boolean;
  readonly anyFiltered: boolean;
  readonly fromOurNetworks: boolean;
  readonly fromOurDomains: boolean;
  readonly specialSender: boolean;
  /** A number in [0, 100) drawn for the random sample. */
  readonly dice: number;
}

/** The scan options of the config. */
export interface ScanOptions {
  readonly ours: boolean;
  readonly from_our_networks: boolean;
  readonly not_from_our_networks: boolean;
  readonly from_our_domains: boolean;
  readonly not_from_our_domains: boolean;
  readonly all: boolean;
  readonly random_percent: number;
}

/**
 * Whether to scan, and why. `decisive` is false when the scan cannot change
 * any outcome (a trigger forced it, or the random sample): its verdict is then
 * recorded, not acted on.
 */
export function scanReason(f: ScanFacts, o: ScanOptions): { scan: boolean; decisive: boolean; why: string } {
  if (f.anyFiltered) return { scan: true, decisive: true, why: 'a recipient is at a filtered domain' };
  if (f.ours && o.ours) return { scan: true, decisive: true, why: 'the sender is ours' };
  const forced: [boolean, string][] = [
    [f.specialSender, 'special sender'],
    [o.all, 'scan.all'],
    [o.from_our_networks && f.fromOurNetworks, 'scan.from_our_networks'],
    [o.not_from_our_networks && !f.fromOurNetworks, 'scan.not_from_our_networks'],
    [o.from_our_domains && f.fromOurDomains, 'scan.from_our_domains'],
    [o.not_from_our_domains && !f.fromOurDomains, 'scan.not_from_our_domains'],
    [f.dice < o.random_percent, `random sample (${String(o.random_percent)}%)`],
  ];
  const hit = forced.find(([on]) => on);
  // "Not ours" to unfiltered domains passes whatever the verdict: a forced scan is for the record.
  const decisive = f.ours;
  if (hit) return { scan: true, decisive, why: hit[1] };
  return {
    scan: false,
    decisive: false,
    why: f.ours
      ? 'the sender is ours but scan.ours is off'
      : 'sender not ours and no filtered recipient: the verdict cannot change the outcome',
  };
}

/**
 * Follows a redirect chain from `start` through confirmed redirects.
 * `next(address)` gives an address's confirmed target, or undefined.
 */
export async function resolveRedirect(
  start: string,
  next: (address: string) => Promise<string | undefined>,
  maxHops: number,
): Promise<{ to: string } | { problem: string }> {
  const seen = new Set<string>([start.toLowerCase()]);
  let at = await next(start);
  if (at === undefined) return { problem: 'no confirmed target' };
  for (let hop = 1; ; hop++) {
    const k = at.toLowerCase();
    if (seen.has(k)) return { problem: `loop through ${at}` };
    seen.add(k);
    const further = await next(at);
    if (further === undefined) return { to: at };
    if (hop >= maxHops) return { problem: `more than ${String(maxHops)} hops` };
    at = further;
  }
}
