/**
 * config.ts — the `[plugin.sender-auth]` section: schema and defaults.
 *
 * Validates and normalizes the keys (snake_case, each described so that the
 * reference docs can be generated from the schema). Domain lists given inline
 * are lower-cased here; list files are read by lists.ts at setup, not here.
 * It does not touch the network or the file system.
 */
import { cidrList, duration } from '@smarthold/core';
import { z } from 'zod';

/** The loopback ranges: smarthold's own host. */
export const DEFAULT_OUR_NETWORKS: readonly string[] = ['127.0.0.0/8', '::1/128'];

/**
 * Neither ours nor external (RFC 1918, RFC 6598 shared address space, RFC 3927
 * link-local, RFC 4193 unique local, RFC 4291 link-local and loopback).
 */
export const DEFAULT_IGNORE_NETWORKS: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
  '127.0.0.0/8',
  '::1/128',
];

/**
 * The starter list of strict receivers (filter_domains by default): the big
 * mailbox providers that block sending servers for the spam they pass on.
 * A starting point, not a verdict on anyone: replace it with your own list.
 */
export const STRICT_RECEIVERS: readonly string[] = [
  'gmail.com',
  'googlemail.com',
  'yahoo.com',
  'ymail.com',
  'rocketmail.com',
  'aol.com',
  'aim.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'comcast.net',
  'icloud.com',
  'me.com',
  'mac.com',
  'att.net',
  'sbcglobal.net',
  'verizon.net',
];

const DOMAIN_RE = /^(?=.{1,253}$)(?!-)[a-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$/;

/** Lower-cases a domain and drops a trailing dot; undefined when it is not a domain name. */
export function normalizeDomain(text: string): string | undefined {
  const d = text.trim().toLowerCase().replace(/\.$/, '');
  return DOMAIN_RE.test(d) ? d : undefined;
}

const domain = z.string().transform((v, ctx) => {
  const d = normalizeDomain(v);
  if (d === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a domain name (e.g. "example.com")` });
    return z.NEVER;
  }
  return d;
});

/** An MX host pattern: an exact host name, or "*." and a domain for any host below it. */
export function mxPatternError(pattern: string): string | undefined {
  const p = pattern.trim().toLowerCase();
  const rest = p.startsWith('*.') ? p.slice(2) : p;
  if (normalizeDomain(rest) === undefined || rest.includes('*')) {
    return `"${pattern}" is not an MX host pattern; use a host name or "*." and a domain, e.g. "*.yahoodns.net"`;
  }
  return undefined;
}

const mxPattern = z.string().transform((v, ctx) => {
  const err = mxPatternError(v);
  if (err) {
    ctx.addIssue({ code: 'custom', message: err });
    return z.NEVER;
  }
  return v.trim().toLowerCase().replace(/\.$/, '');
});

/** The schema of `[plugin.sender-auth]`. */
export const senderAuthConfig = z.strictObject({
  our_domains: z
    .array(domain)
    .default([])
    .describe('domains we send mail as; a sender in one of them (or a subdomain) is ours unless SPF fails'),
  our_domains_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      'file with more of our domains, one per line, # comments; a relative path is resolved against the working directory',
    ),
  our_networks: cidrList
    .default([...DEFAULT_OUR_NETWORKS])
    .describe(
      'our IP blocks: mail that entered from them is ours unless SPF fails, and Received lines they wrote are trusted',
    ),
  ignore_networks: cidrList
    .default([...DEFAULT_IGNORE_NETWORKS])
    .describe(
      'addresses that are neither ours nor external (private ranges); hops from them are skipped when looking for the origin',
    ),
  filter_domains: z
    .array(domain)
    .default([...STRICT_RECEIVERS])
    .describe('strict receivers: a recipient in one of these domains or below them is "filtered"'),
  filter_domains_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      'file with more filtered domains, one per line, # comments; a relative path is resolved against the working directory',
    ),
  filter_mx_patterns: z
    .array(mxPattern)
    .default([])
    .describe(
      'a recipient domain whose MX host matches one of these ("*.yahoodns.net", "*.google.com") is filtered too',
    ),
  mx_timeout: duration('5s').describe('deadline for one MX lookup made for filter_mx_patterns'),
  mx_cache_ttl: duration('1h').describe('how long an MX lookup answer is reused'),
  trusted_authserv_ids: z
    .array(
      z
        .string()
        .min(1)
        .transform((v) => v.trim().toLowerCase()),
    )
    .default([])
    .describe(
      'authserv-ids of our own MX servers (RFC 8601); their topmost Authentication-Results spf= result is used instead of a new check',
    ),
  spf_timeout: duration('5s').describe(
    'deadline for the whole SPF evaluation (number of milliseconds or a duration); overrun gives temperror',
  ),
  notify_external_senders: z
    .boolean()
    .default(false)
    .describe(
      'also treat senders that are not ours as fit to be told about held mail, as long as SPF does not fail',
    ),
  check_every_message: z
    .boolean()
    .default(true)
    .describe(
      'classify every message in a data hook so explain always shows origin, SPF and filtered recipients; false: only when another plugin asks',
    ),
});

/** The validated section. */
export type SenderAuthConfig = z.output<typeof senderAuthConfig>;
/** The section as written in TOML. */
export type SenderAuthConfigInput = z.input<typeof senderAuthConfig>;
