/**
 * test-dns.ts — a fake resolver for tests (not shipped: package.json leaves out test-*).
 *
 * Answers from a zone given as `{ 'name': { TXT: [...], A: [...], MX: [...] } }`
 * the way node:dns would: ENOTFOUND for an unknown name, ENODATA for a known
 * name without that type. Names listed in `hang` never answer (timeouts);
 * names in `fail` fail with the given code. It counts queries.
 */
import { type DnsResolver, dnsError } from './dns.js';

export type Zone = Record<string, Partial<Record<'TXT' | 'A' | 'AAAA' | 'MX' | 'PTR', unknown[]>>>;

export interface FakeDns {
  readonly resolve: DnsResolver;
  /** Every query made, as "TYPE name". */
  readonly queries: string[];
}

export function fakeDns(
  zone: Zone,
  opts: { hang?: readonly string[]; fail?: Readonly<Record<string, string>> } = {},
): FakeDns {
  const queries: string[] = [];
  const resolve: DnsResolver = (name, rrtype) => {
    const n = name.toLowerCase().replace(/\.$/, '');
    queries.push(`${rrtype} ${n}`);
    if (opts.hang?.includes(n)) return new Promise<unknown[]>(() => undefined);
    const code = opts.fail?.[n];
    if (code) return Promise.reject(dnsError(code, n));
    const entry = zone[n];
    if (!entry) return Promise.reject(dnsError('ENOTFOUND', n));
    const answer = entry[rrtype as keyof typeof entry];
    if (!answer?.length) return Promise.reject(dnsError('ENODATA', n));
    return Promise.resolve(answer);
  };
  return { resolve, queries };
}

/** A TXT answer: one record of one string. */
export const txt = (record: string): string[][] => [[record]];
