/**
 * spf.ts — SPF for the envelope sender at the entry IP (RFC 7208), via mailauth.
 *
 * The identity is the MAIL FROM address, or for the null sender
 * "postmaster@" + the entry host's HELO (RFC 7208 §2.4). The address checked
 * against is the one where the message entered the operator's network (see
 * origin.ts), never the MTA that handed it to smarthold. mailauth does the
 * evaluation (mechanisms, macros, the 10-lookup and 2-void-lookup limits of
 * §4.6.4); this module feeds it an injectable resolver with a deadline and
 * returns a plain result. It can also take the result from a trusted
 * Authentication-Results header instead (auth-results.ts picks the header).
 * It does not decide who is ours (classify.ts does).
 */
import type { DNSResolver } from 'mailauth';
import type { AuthResultsSpf } from './auth-results.js';
import { type DnsResolver, withDeadline } from './dns.js';
import { addressDomain } from './lists.js';

type MailauthSpf = (typeof import('mailauth/lib/spf/index.js'))['spf'];
let spfModule: Promise<MailauthSpf> | undefined;

/**
 * mailauth's SPF code, loaded on first use: it costs ~20 MB of memory, which
 * an instance whose mail is all internal or vouched for by a trusted
 * Authentication-Results header never needs.
 */
function loadSpf(): Promise<MailauthSpf> {
  spfModule ??= import('mailauth/lib/spf/index.js').then((m) => m.spf);
  spfModule.catch(() => (spfModule = undefined));
  return spfModule;
}

/** RFC 7208 §2.6 results. */
export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';
const SPF_RESULTS: ReadonlySet<string> = new Set<SpfResult>([
  'pass',
  'fail',
  'softfail',
  'neutral',
  'none',
  'temperror',
  'permerror',
]);

/** What SPF said, and about what. Plain JSON data. */
export interface SpfOutcome {
  readonly result: SpfResult;
  /** RFC 7208 §2.4: `mailfrom`, or `helo` for the null sender. */
  readonly identity: 'mailfrom' | 'helo';
  /** The identity as checked: the sender, or postmaster@HELO. Empty when there was nothing to check. */
  readonly sender: string;
  /** The address checked against; absent when nothing was checked. */
  readonly ip?: string;
  readonly helo?: string;
  /** `checked` by us, taken from a trusted `authentication-results` header, or `skipped` (with the reason in comment). */
  readonly source: 'checked' | 'authentication-results' | 'skipped';
  readonly comment?: string;
  /** The SPF record used, when we checked. */
  readonly record?: string;
  /** DNS lookups counted against the limit of 10, when we checked. */
  readonly lookups?: number;
  /** The authserv-id whose header we believed. */
  readonly authservId?: string;
}

/** Options for {@link checkSpf}. */
export interface SpfCheckOptions {
  /** Envelope sender; '' for the null sender. */
  readonly sender: string;
  /** The entry IP. */
  readonly ip: string;
  /** The entry host's HELO, when known. */
  readonly helo?: string | undefined;
  readonly resolver: DnsResolver;
  /** Deadline for the whole evaluation, in milliseconds. */
  readonly timeoutMs: number;
  /** Name written into mailauth's comments. */
  readonly mta?: string;
  readonly now?: () => number;
}

/** The identity SPF checks: the sender, or postmaster@HELO for the null sender (RFC 7208 §2.4). */
export function spfIdentity(
  sender: string,
  helo: string | undefined,
): { identity: 'mailfrom' | 'helo'; address: string } | undefined {
  if (sender) return { identity: 'mailfrom', address: sender };
  if (!helo) return undefined;
  return { identity: 'helo', address: `postmaster@${helo}` };
}

/**
 * Evaluates SPF.
 *
 * @example
 * await checkSpf({ sender: 'a@example.org', ip: '192.0.2.7', helo: 'mx.example.org', resolver, timeoutMs: 5000 });
 * // { result: 'pass', identity: 'mailfrom', sender: 'a@example.org', ip: '192.0.2.7', source: 'checked', ... }
 */
export async function checkSpf(opts: SpfCheckOptions): Promise<SpfOutcome> {
  const id = spfIdentity(opts.sender, opts.helo);
  const helo = opts.helo ? { helo: opts.helo } : {};
  if (!id) {
    return {
      result: 'none',
      identity: 'helo',
      sender: '',
      ip: opts.ip,
      source: 'skipped',
      comment: 'null sender and no HELO name: no identity to check (RFC 7208 §2.4)',
    };
  }
  // Loaded before the clock starts: the first check must not lose its time budget to the import.
  const mailauthSpf = await loadSpf();
  const now = opts.now ?? Date.now;
  const resolver = withDeadline(opts.resolver, now() + opts.timeoutMs, now);
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<'timeout'>((resolve) => {
    // A safety net behind the per-lookup deadline, for time spent outside DNS.
    timer = setTimeout(() => {
      resolve('timeout');
    }, opts.timeoutMs + 50);
  });
  const base = {
    identity: id.identity,
    sender: id.address,
    ip: opts.ip,
    ...helo,
    source: 'checked' as const,
  };
  try {
    const r = await Promise.race([
      mailauthSpf({
        sender: id.address,
        ip: opts.ip,
        ...(opts.helo ? { helo: opts.helo } : {}),
        ...(opts.mta ? { mta: opts.mta } : {}),
        resolver: resolver as unknown as DNSResolver,
      }),
      overrun,
    ]);
    if (r === 'timeout')
      return {
        result: 'temperror',
        ...base,
        comment: `SPF evaluation took longer than ${opts.timeoutMs} ms`,
      };
    const result = SPF_RESULTS.has(r.status.result) ? (r.status.result as SpfResult) : 'temperror';
    return {
      result,
      ...base,
      ...(r.status.comment ? { comment: r.status.comment } : {}),
      ...(r.rr ? { record: r.rr } : {}),
      ...(r.lookups ? { lookups: r.lookups.count } : {}),
    };
  } catch (err) {
    return { result: 'temperror', ...base, comment: `SPF evaluation failed: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Turns a trusted Authentication-Results spf= entry into an outcome, or
 * undefined when it is about another identity (a different sender domain or
 * HELO, e.g. after SRS rewriting) or has a result RFC 7208 does not define.
 */
export function spfFromAuthResults(
  ar: AuthResultsSpf,
  sender: string,
  helo: string | undefined,
  ip: string,
): SpfOutcome | undefined {
  if (!SPF_RESULTS.has(ar.result)) return undefined;
  const id = spfIdentity(sender, helo);
  if (!id) return undefined;
  const wanted = addressDomain(id.address);
  const claimed =
    ar.mailfrom !== undefined
      ? addressDomain(ar.mailfrom.includes('@') ? ar.mailfrom : `x@${ar.mailfrom}`)
      : undefined;
  const claimedHelo = ar.helo?.toLowerCase().replace(/\.$/, '');
  const same = id.identity === 'mailfrom' ? claimed === wanted : claimedHelo === wanted || claimed === wanted;
  if (!same) return undefined;
  return {
    result: ar.result as SpfResult,
    identity: id.identity,
    sender: id.address,
    ip,
    ...(helo ? { helo } : {}),
    source: 'authentication-results',
    authservId: ar.authservId,
    comment: `from Authentication-Results by ${ar.authservId}`,
  };
}
