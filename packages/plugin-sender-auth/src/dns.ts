/**
 * dns.ts — the one door to DNS, so tests can replace it.
 *
 * A resolver has the shape of `dns.promises.resolve(name, rrtype)` (which is
 * also what mailauth expects): TXT answers are arrays of strings per record,
 * MX answers are `{ exchange, priority }` objects, A/AAAA answers are address
 * strings. Failures are errors with a `code` from node:dns (ENOTFOUND,
 * ENODATA, ETIMEOUT, SERVFAIL...). This module adds a deadline; it does not
 * cache (filter.ts caches MX answers) and does not interpret answers.
 */
import { promises as dnsPromises } from 'node:dns';

/** A DNS lookup function with the shape of `dns.promises.resolve`. */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown[]>;

/** The system resolver (node:dns, which uses the servers in /etc/resolv.conf). */
export const systemResolver: DnsResolver = (name, rrtype) =>
  dnsPromises.resolve(name, rrtype) as Promise<unknown[]>;

/** An error shaped like the ones node:dns raises. */
export function dnsError(code: string, name: string): Error & { code: string; hostname: string } {
  return Object.assign(new Error(`${code} ${name}`), { code, hostname: name });
}

/**
 * Wraps a resolver so that every lookup ends by `deadline` (ms since the
 * epoch, on `now`'s clock): a lookup still running then, or started later,
 * fails with ETIMEOUT, which SPF evaluation reports as temperror (RFC 7208
 * §4.4: a lookup that times out ends check_host() with "temperror").
 */
export function withDeadline(
  resolver: DnsResolver,
  deadline: number,
  now: () => number = Date.now,
): DnsResolver {
  return (name, rrtype) => {
    const left = deadline - now();
    if (left <= 0) return Promise.reject(dnsError('ETIMEOUT', name));
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(dnsError('ETIMEOUT', name));
      }, left);
      resolver(name, rrtype).then(
        (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  };
}
