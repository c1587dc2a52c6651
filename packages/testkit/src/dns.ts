/**
 * dns.ts — a DNS resolver that answers from a table, the way node:dns fails.
 *
 * One fake serves every resolver shape in smarthold: core's MX resolver
 * (`resolveMx`, `resolve4`, `resolve6`), a node:dns/promises-like object
 * (`resolveTxt`, `resolvePtr`, `resolve(name, rrtype)`), and the
 * `(name, rrtype) => Promise<unknown[]>` function sender-auth and mailauth
 * take (`dns.resolve`). Unknown names fail with ENOTFOUND, known names
 * without the asked type with ENODATA; names in `fail` fail with the code
 * given, names in `hang` never answer. Every query is recorded. It never
 * touches the network.
 */
import type { MxRecord, MxResolver } from '@smarthold/core';

/** The zone: records per name (names are matched case-insensitively, without a trailing dot). */
export interface FakeDnsRecords {
  readonly mx?: Readonly<Record<string, readonly MxRecord[]>>;
  readonly a?: Readonly<Record<string, readonly string[]>>;
  readonly aaaa?: Readonly<Record<string, readonly string[]>>;
  /** A string is one record of one string; an array of strings is one record per string; string[][] is as node:dns gives it. */
  readonly txt?: Readonly<Record<string, string | readonly string[] | readonly (readonly string[])[]>>;
  readonly ptr?: Readonly<Record<string, readonly string[]>>;
}

/** Failure injection. */
export interface FakeDnsOptions {
  /** Names whose lookups fail with this node:dns code (ESERVFAIL, ETIMEOUT, ...). */
  readonly fail?: Readonly<Record<string, string>>;
  /** Names whose lookups never settle (to test deadlines). */
  readonly hang?: readonly string[];
}

/** The fake resolver. */
export interface FakeDns extends MxResolver {
  resolveTxt(name: string): Promise<string[][]>;
  resolvePtr(name: string): Promise<string[]>;
  /** `dns.promises.resolve(name, rrtype)`; bound, so it can be passed around as a function. */
  readonly resolve: (name: string, rrtype?: string) => Promise<unknown[]>;
  /** Every query made, as "TYPE name" ("MX example.org"). */
  readonly queries: string[];
}

/** An error shaped like node:dns's. */
export function dnsError(code: string, name: string): Error & { code: string; hostname: string } {
  return Object.assign(new Error(`${code} ${name}`), { code, hostname: name });
}

const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function lower<T>(table: Readonly<Record<string, T>> | undefined): Map<string, T> {
  return new Map(Object.entries(table ?? {}).map(([k, v]) => [norm(k), v]));
}

function txtRecords(v: string | readonly string[] | readonly (readonly string[])[]): string[][] {
  if (typeof v === 'string') return [[v]];
  return v.map((r) => (typeof r === 'string' ? [r] : [...r]));
}

/**
 * Makes a fake resolver.
 *
 * @example
 * const dns = fakeDns({ mx: { 'example.net': [{ exchange: 'mx.example.net', priority: 10 }] }, a: { 'mx.example.net': ['192.0.2.25'] }, txt: { 'example.org': 'v=spf1 -all' } });
 * await startTestSmarthold({ resolver: dns });
 */
export function fakeDns(records: FakeDnsRecords = {}, opts: FakeDnsOptions = {}): FakeDns {
  const tables: Record<string, Map<string, unknown[]>> = {
    MX: new Map([...lower(records.mx)].map(([k, v]) => [k, [...v]])),
    A: new Map([...lower(records.a)].map(([k, v]) => [k, [...v]])),
    AAAA: new Map([...lower(records.aaaa)].map(([k, v]) => [k, [...v]])),
    TXT: new Map([...lower(records.txt)].map(([k, v]) => [k, txtRecords(v)])),
    PTR: new Map([...lower(records.ptr)].map(([k, v]) => [k, [...v]])),
  };
  const known = new Set(Object.values(tables).flatMap((m) => [...m.keys()]));
  const fail = lower(opts.fail);
  const hang = new Set((opts.hang ?? []).map(norm));
  const queries: string[] = [];
  const resolve = (name: string, rrtype = 'A'): Promise<unknown[]> => {
    const n = norm(name);
    const type = rrtype.toUpperCase();
    queries.push(`${type} ${n}`);
    if (hang.has(n)) return new Promise<unknown[]>(() => undefined);
    const code = fail.get(n);
    if (code) return Promise.reject(dnsError(code, n));
    if (!known.has(n)) return Promise.reject(dnsError('ENOTFOUND', n));
    const answer = tables[type]?.get(n);
    if (!answer?.length) return Promise.reject(dnsError('ENODATA', n));
    return Promise.resolve(structuredClone(answer));
  };
  return {
    resolve,
    queries,
    resolveMx: (d) => resolve(d, 'MX') as Promise<MxRecord[]>,
    resolve4: (h) => resolve(h, 'A') as Promise<string[]>,
    resolve6: (h) => resolve(h, 'AAAA') as Promise<string[]>,
    resolveTxt: (n) => resolve(n, 'TXT') as Promise<string[][]>,
    resolvePtr: (n) => resolve(n, 'PTR') as Promise<string[]>,
  };
}
