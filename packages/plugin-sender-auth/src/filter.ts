/**
 * filter.ts — is this recipient at a filtered (strict) receiver?
 *
 * A recipient is filtered when its domain, or a parent of it, is in
 * filter_domains ("mail.aol.com" matches "aol.com"; "notaol.com" does not),
 * or when one of the domain's MX hosts matches filter_mx_patterns (for the
 * many domains hosted by one strict provider). MX answers are cached for a
 * TTL; a failed lookup is not cached and gives "not filtered by MX" with the
 * error said, so a DNS outage is visible in explain rather than silent.
 * A domain without MX records has itself as implicit MX (RFC 5321 §5.1).
 * It does not decide what to do with a filtered recipient.
 */
import { type DnsResolver, withDeadline } from './dns.js';
import { addressDomain, type DomainSet } from './lists.js';

/** Which rule made a recipient filtered. */
export type FilterRule =
  | { readonly kind: 'domain'; readonly domain: string }
  | { readonly kind: 'mx'; readonly pattern: string; readonly mx: string };

/** The answer for one recipient. Plain JSON data. */
export interface FilterResult {
  readonly filtered: boolean;
  readonly rule?: FilterRule;
  /** Set when the MX lookup failed, so MX patterns could not be applied. */
  readonly mxError?: string;
}

/** Options for {@link RecipientFilter}. */
export interface FilterOptions {
  readonly domains: DomainSet;
  /** Lower-case patterns: a host name, or "*." and a domain. */
  readonly mxPatterns: readonly string[];
  readonly resolver: DnsResolver;
  readonly mxTimeoutMs: number;
  readonly cacheTtlMs: number;
  readonly now?: () => number;
  /** Most domains kept in the MX cache (oldest dropped first). */
  readonly cacheSize?: number;
}

/** True when `host` matches `pattern` ("*.google.com" matches "alt1.aspmx.l.google.com", not "google.com"). */
export function mxMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (pattern.startsWith('*.')) return h.endsWith(pattern.slice(1));
  return h === pattern;
}

type MxAnswer = { readonly hosts: readonly string[]; readonly until: number };

/**
 * Matches recipients against filter_domains and filter_mx_patterns.
 *
 * @example
 * const f = new RecipientFilter({ domains: domainSet(['aol.com']), mxPatterns: ['*.yahoodns.net'], resolver, mxTimeoutMs: 5000, cacheTtlMs: 3600_000 });
 * await f.check('someone@mail.aol.com'); // { filtered: true, rule: { kind: 'domain', domain: 'aol.com' } }
 */
export class RecipientFilter {
  private readonly cache = new Map<string, MxAnswer>();
  private readonly pending = new Map<string, Promise<readonly string[]>>();
  private readonly now: () => number;

  constructor(private readonly opts: FilterOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Matches by domain only (no DNS). */
  checkDomain(address: string): FilterResult {
    const domain = addressDomain(address);
    const hit = domain === undefined ? undefined : this.opts.domains.match(domain);
    return hit === undefined
      ? { filtered: false }
      : { filtered: true, rule: { kind: 'domain', domain: hit } };
  }

  /** Matches by domain, then by MX host. Never throws. */
  async check(address: string): Promise<FilterResult> {
    const byDomain = this.checkDomain(address);
    if (byDomain.filtered || !this.opts.mxPatterns.length) return byDomain;
    const domain = addressDomain(address);
    if (domain === undefined) return byDomain;
    let hosts: readonly string[];
    try {
      hosts = await this.mx(domain);
    } catch (err) {
      const e = err as Error & { code?: string };
      return { filtered: false, mxError: `MX lookup for ${domain} failed: ${e.code ?? e.message}` };
    }
    for (const mx of hosts) {
      const pattern = this.opts.mxPatterns.find((p) => mxMatches(p, mx));
      if (pattern !== undefined) return { filtered: true, rule: { kind: 'mx', pattern, mx } };
    }
    return { filtered: false };
  }

  /** MX hosts of a domain, cached; the domain itself when it has none (RFC 5321 §5.1). */
  private async mx(domain: string): Promise<readonly string[]> {
    const hit = this.cache.get(domain);
    if (hit && hit.until > this.now()) return hit.hosts;
    const running = this.pending.get(domain);
    if (running) return running;
    const lookup = this.lookup(domain).finally(() => this.pending.delete(domain));
    this.pending.set(domain, lookup);
    const hosts = await lookup;
    this.cache.delete(domain);
    this.cache.set(domain, { hosts, until: this.now() + this.opts.cacheTtlMs });
    const max = this.opts.cacheSize ?? 10_000;
    while (this.cache.size > max) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return hosts;
  }

  private async lookup(domain: string): Promise<readonly string[]> {
    const resolve = withDeadline(this.opts.resolver, this.now() + this.opts.mxTimeoutMs, this.now);
    try {
      const answer = (await resolve(domain, 'MX')) as { exchange?: unknown; priority?: unknown }[];
      const hosts = answer
        .filter((r): r is { exchange: string; priority?: unknown } => typeof r.exchange === 'string')
        .sort((a, b) => Number(a.priority ?? 0) - Number(b.priority ?? 0))
        .map((r) => r.exchange.toLowerCase().replace(/\.$/, ''));
      // RFC 7505 null MX ("." at preference 0): the domain takes no mail; nothing to match.
      const real = hosts.filter(Boolean);
      if (hosts.length && !real.length) return [];
      return real.length ? real : [domain];
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') return [domain];
      throw err;
    }
  }
}
