/**
 * spam/config.ts — the config keys every networked scanner plugin shares.
 *
 * `max_size` (the size limit guard.ts applies) and `on_failure` (the failure
 * policy of contract.ts), as zod schemas a scanner plugin puts in its own
 * `[plugin.NAME]` section, so that the spamassassin and rspamd plugins (and
 * third-party scanners) spell, default and describe them alike, and the
 * config reference says the same for each. It does not build or validate a
 * whole section, and reads no files.
 */
import { z } from 'zod';
import type { ScannerFailurePolicy } from './contract.js';

/** Messages over 500 KB are not scanned: SpamAssassin's own default for spamc (`spamc -s`). */
export const DEFAULT_SCAN_MAX_SIZE = 500 * 1024;

/** Every failure policy, once (a policy added to the type must be added here), in the reference's order. */
const FAILURE_POLICIES: { readonly [P in ScannerFailurePolicy]: P } = {
  tempfail: 'tempfail',
  pass: 'pass',
  hold: 'hold',
};

/**
 * The `max_size` key: messages larger than this many octets are not sent to
 * the scanner (see {@link guardedScan}).
 *
 * @example
 * z.object({ max_size: scanMaxSize(), on_failure: scanFailurePolicy('spamd') }).strict()
 */
export function scanMaxSize(defaultValue: number = DEFAULT_SCAN_MAX_SIZE) {
  return z
    .number()
    .int()
    .positive()
    .default(defaultValue)
    .describe('Messages larger than this (octets) are not sent; the verdict says skipped, not spam.');
}

/**
 * The `on_failure` key: what happens to a message when the scanner (named
 * `daemon` in the description, e.g. "spamd") is down or too slow.
 *
 * @example
 * z.object({ on_failure: scanFailurePolicy('rspamd') }).strict()
 */
export function scanFailurePolicy(daemon: string) {
  return z
    .enum(FAILURE_POLICIES)
    .default('tempfail')
    .describe(`When ${daemon} is down or too slow: tempfail (451, default), pass (not spam) or hold (spam).`);
}

/** A scanner daemon's address: TCP host and port, or a Unix socket path. */
export type ScanServerAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/**
 * A scanner daemon's address as text for logs and errors: "127.0.0.1:783",
 * "[::1]:3310" or "unix:/run/clamav/clamd.ctl".
 *
 * @example
 * scanServerLabel({ kind: 'tcp', host: '::1', port: 783 }); // '[::1]:783'
 */
export function scanServerLabel(s: ScanServerAddress): string {
  if (s.kind === 'unix') return `unix:${s.path}`;
  return s.host.includes(':') ? `[${s.host}]:${String(s.port)}` : `${s.host}:${String(s.port)}`;
}
