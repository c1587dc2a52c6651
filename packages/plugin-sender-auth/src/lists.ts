/**
 * lists.ts — domain lists: inline entries plus optional list files.
 *
 * A list file has one domain per line; "#" starts a comment, blank lines are
 * skipped. A relative path is resolved against the working directory (the
 * plugin context carries no config directory). Entries that are not domain
 * names stop start-up with the file and line, so a typo never silently
 * shrinks a list. Matching a domain against a list (itself or a parent) is
 * here too. It does not look anything up in DNS.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { normalizeDomain } from './config.js';

/** Thrown for an unreadable or invalid list file; the message names the file and line. */
export class ListFileError extends Error {
  override readonly name = 'ListFileError';
}

/** Parses the text of a list file. `source` names the file in error messages. */
export function parseDomainList(text: string, source: string): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const d = normalizeDomain(line);
    if (d === undefined) throw new ListFileError(`${source}:${i + 1}: "${line}" is not a domain name`);
    out.push(d);
  });
  return out;
}

/** Reads a list file; relative paths are resolved against `cwd` (default: process.cwd()). */
export function readDomainList(file: string, cwd: string = process.cwd()): string[] {
  const full = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new ListFileError(`cannot read domain list ${full}: ${(err as Error).message}`, { cause: err });
  }
  return parseDomainList(text, full);
}

/** A set of domains that also matches subdomains. */
export interface DomainSet {
  /** The entry that matches `domain` (itself or a parent), or undefined. */
  match(domain: string): string | undefined;
  readonly size: number;
}

/**
 * Builds a {@link DomainSet}: "mail.aol.com" matches "aol.com", "notaol.com" does not.
 *
 * @example
 * domainSet(['aol.com']).match('mail.aol.com'); // 'aol.com'
 */
export function domainSet(entries: Iterable<string>): DomainSet {
  const set = new Set<string>();
  for (const e of entries) {
    const d = normalizeDomain(e);
    if (d !== undefined) set.add(d);
  }
  return {
    size: set.size,
    match(domain: string): string | undefined {
      let d = normalizeDomain(domain);
      while (d !== undefined) {
        if (set.has(d)) return d;
        const dot = d.indexOf('.');
        d = dot < 0 ? undefined : d.slice(dot + 1);
      }
      return undefined;
    },
  };
}

/** The domain part of an address, lower-cased; undefined for the null sender and address literals. */
export function addressDomain(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0) return undefined;
  const d = address.slice(at + 1).replace(/>$/, '');
  if (d.startsWith('[')) return undefined;
  return normalizeDomain(d);
}
