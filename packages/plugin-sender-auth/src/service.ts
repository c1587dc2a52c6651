/**
 * service.ts — the `sender-auth` service other plugins call.
 *
 * Puts the pieces together for one transaction: origin from the Received
 * chain (origin.ts), SPF at the entry IP (spf.ts, or a trusted
 * Authentication-Results header), the ours / not-ours rule (classify.ts), and
 * per-recipient filtered matching (filter.ts). Answers are cached per
 * transaction (by queue id), and the first computation records its findings
 * in the transaction's results so `smarthold explain` shows them. It holds
 * no policy about what to do with the answers: that is the quarantine's.
 */
import type { Clock, Json, MessageTransaction, NetworkList, Transaction } from '@smarthold/core';
import { networkList } from '@smarthold/core';
import { trustedSpf } from './auth-results.js';
import { classifySender, type SenderClassification } from './classify.js';
import type { SenderAuthConfig } from './config.js';
import type { DnsResolver } from './dns.js';
import { type FilterResult, RecipientFilter } from './filter.js';
import { addressDomain, type DomainSet, domainSet } from './lists.js';
import { findOrigin, type Origin } from './origin.js';
import { checkSpf, spfFromAuthResults, type SpfOutcome } from './spf.js';

/**
 * The service provided under the name `sender-auth`.
 *
 * @example
 * // in a plugin that lists requires: ['sender-auth']
 * const auth = ctx.service('sender-auth');
 * ctx.hook('data', async (tx) => {
 *   const who = await auth.classify(tx);
 *   const filtered = await auth.filterRecipients(tx);
 *   ...
 * });
 */
export interface SenderAuthService {
  /** Origin, SPF and ours / not-ours for the message. Cached per transaction; records origin, spf, classification. */
  classify(tx: MessageTransaction): Promise<SenderClassification>;
  /** The origin alone (no DNS). */
  origin(tx: MessageTransaction): Origin;
  /** Whether one address is at a filtered receiver (by domain, then by MX pattern). Never throws. */
  isFiltered(address: string): Promise<FilterResult>;
  /** isFiltered for every recipient of the transaction; records `filtered` per recipient. Keyed by address as given. */
  filterRecipients(tx: Transaction): Promise<Readonly<Record<string, FilterResult>>>;
  /** The our_domains entry an address or domain falls under, or undefined. */
  ourDomain(addressOrDomain: string): string | undefined;
  /** True when the address is in our_networks. */
  isOurNetwork(ip: string): boolean;
}

/** What the service is built from. */
export interface SenderAuthDeps {
  readonly config: SenderAuthConfig;
  /** our_domains plus the entries of our_domains_file. */
  readonly ourDomains: readonly string[];
  /** filter_domains plus the entries of filter_domains_file. */
  readonly filterDomains: readonly string[];
  readonly resolver: DnsResolver;
  readonly clock: Clock;
  /** Name written into SPF comments (default: the host name). */
  readonly mta?: string;
}

/** The results store keeps JSON only; every value recorded here is built from JSON parts. */
const json = (value: object): Json => value as unknown as Json;

/** The findings under `classification`, without the origin and SPF that have their own keys. */
function summary(c: SenderClassification): Json {
  const { origin: _origin, spf: _spf, ...rest } = c;
  return json(rest);
}

const CACHE_MAX = 1024;
const CACHE_MS = 10 * 60_000;

/**
 * One answer per transaction (by queue id, or a key naming it): the first call computes it, later
 * calls (the plugin's own data hook, then the quarantine's) share it. Bounded
 * in size and age; a failed answer is forgotten so the next call retries.
 */
function perTransaction<T>(now: () => number): (id: string, compute: () => Promise<T>) => Promise<T> {
  const cache = new Map<string, { at: number; answer: Promise<T> }>();
  return (id, compute) => {
    const t = now();
    for (const [id, entry] of cache) {
      if (cache.size <= CACHE_MAX && entry.at > t - CACHE_MS) break;
      cache.delete(id);
    }
    const hit = cache.get(id);
    if (hit) return hit.answer;
    const answer = compute();
    cache.set(id, { at: t, answer });
    answer.catch(() => cache.delete(id));
    return answer;
  };
}

/** Builds the service. */
export function createSenderAuthService(deps: SenderAuthDeps): SenderAuthService {
  const { config } = deps;
  const ours: NetworkList = networkList(config.our_networks);
  const ignored: NetworkList = networkList(config.ignore_networks);
  const ourDomains: DomainSet = domainSet(deps.ourDomains);
  const now = (): number => deps.clock.now();
  const filter = new RecipientFilter({
    domains: domainSet(deps.filterDomains),
    mxPatterns: config.filter_mx_patterns,
    resolver: deps.resolver,
    mxTimeoutMs: config.mx_timeout,
    cacheTtlMs: config.mx_cache_ttl,
    now,
  });
  const classified = perTransaction<SenderClassification>(now);
  const filteredOf = perTransaction<Readonly<Record<string, FilterResult>>>(now);

  const ourDomain = (addressOrDomain: string): string | undefined => {
    const d = addressOrDomain.includes('@') ? addressDomain(addressOrDomain) : addressOrDomain;
    return d === undefined ? undefined : ourDomains.match(d);
  };

  const origin = (tx: MessageTransaction): Origin =>
    findOrigin({
      clientIp: tx.session.remoteAddress,
      clientHelo: tx.session.helo,
      received: tx.headers.get('received'),
      ourNetworks: ours,
      ignoreNetworks: ignored,
    });

  const spfFor = async (tx: MessageTransaction, o: Origin): Promise<SpfOutcome> => {
    const identity = tx.from ? 'mailfrom' : 'helo';
    if (o.kind === 'unparseable') {
      return {
        result: 'none',
        identity,
        sender: tx.from,
        source: 'skipped',
        comment: 'origin unknown: the Received chain could not be read',
      };
    }
    if (o.kind === 'internal' && o.ip === undefined) {
      return {
        result: 'none',
        identity,
        sender: tx.from,
        source: 'skipped',
        comment: 'originated inside the network with no public address of ours to check against',
      };
    }
    const ip = o.ip ?? '';
    const helo = o.kind === 'external' ? o.helo : undefined;
    if (o.kind === 'external') {
      const ar = trustedSpf(tx.headers.get('authentication-results'), config.trusted_authserv_ids);
      const fromAr = ar ? spfFromAuthResults(ar, tx.from, helo, ip) : undefined;
      if (fromAr) return fromAr;
    }
    return checkSpf({
      sender: tx.from,
      ip,
      helo,
      resolver: deps.resolver,
      timeoutMs: config.spf_timeout,
      now,
      ...(deps.mta ? { mta: deps.mta } : {}),
    });
  };

  const compute = async (tx: MessageTransaction): Promise<SenderClassification> => {
    const o = origin(tx);
    const spf = await spfFor(tx, o);
    const c = classifySender({
      sender: tx.from,
      origin: o,
      spf,
      ourDomain: ourDomain(tx.from),
      notifyExternalSenders: config.notify_external_senders,
    });
    tx.results.set('origin', json(o));
    tx.results.set('spf', json(spf));
    tx.results.set('classification', summary(c));
    return c;
  };

  return {
    origin,
    ourDomain,
    isOurNetwork: (ip) => ours.has(ip),
    isFiltered: (address) => filter.check(address),
    classify(tx) {
      return classified(tx.queueId, () => compute(tx));
    },
    filterRecipients(tx) {
      // Keyed by the recipients too: a call at RCPT sees fewer than one at DATA.
      return filteredOf(`${tx.queueId}\n${tx.to.join('\n')}`, async () => {
        const out: Record<string, FilterResult> = {};
        await Promise.all(
          tx.to.map(async (rcpt) => {
            const r = await filter.check(rcpt);
            out[rcpt] = r;
            tx.results.set('filtered', json(r), { recipient: rcpt });
          }),
        );
        return out;
      });
    },
  };
}
