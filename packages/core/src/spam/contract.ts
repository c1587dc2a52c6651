/**
 * spam/contract.ts — the `spam-scanner` service contract.
 *
 * A scanner is a service another plugin calls only when its own logic needs a
 * verdict. It reads the message and returns a verdict; it never changes the
 * message, never adds headers. Scanner plugins (bayes, spamassassin, rspamd)
 * provide `spam-scanner`; when several are loaded, the host hands consumers one
 * combined scanner (spam/combine.ts). This file holds types and one helper.
 */
import type { Readable } from 'node:stream';

/**
 * The GTUBE test string (SpamAssassin's "Generic Test for Unsolicited Bulk
 * Email"): every scanner treats a message containing it as spam.
 */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** One rule or symbol that contributed to a score. */
export interface ScanRule {
  readonly name: string;
  readonly score: number;
  readonly description?: string;
}

/** A scanner's answer. */
export interface ScanVerdict {
  /** Which scanner answered ("bayes", "spamassassin", "rspamd", or "combined"). */
  readonly scanner: string;
  readonly score: number;
  readonly threshold: number;
  readonly isSpam: boolean;
  readonly rules: readonly ScanRule[];
  readonly durationMs: number;
  /** Set when the scanner failed and its failure policy (`pass` or `hold`) produced this verdict. */
  readonly failure?: string;
  /** For a combined verdict: each scanner's own verdict. */
  readonly parts?: readonly ScanVerdict[];
}

/** The message a scanner reads: the bytes as they will be relayed. */
export interface ScanMessage {
  readonly size: number;
  openMessage(): Readable;
}

/** What a scanner may know about where the message came from. */
export interface ScanContext {
  readonly queueId?: string;
  /** Envelope sender, '' for <>. */
  readonly from?: string;
  readonly to?: readonly string[];
  /** The client that handed us the message. */
  readonly clientIp?: string;
  /** The entry IP found in the trusted Received chain (sender-auth), when known. */
  readonly originIp?: string;
  readonly helo?: string;
  /** Authenticated user, if any. */
  readonly user?: string;
}

/** The `spam-scanner` service. */
export interface SpamScanner {
  readonly name: string;
  /** Scans without changing anything. Throws {@link ScannerUnavailableError} when the scanner fails under the `tempfail` policy. */
  scan(message: ScanMessage, context?: ScanContext): Promise<ScanVerdict>;
  /** Teaches the scanner; absent when the scanner cannot learn. */
  learn?(message: ScanMessage, label: 'spam' | 'ham'): Promise<void>;
}

/** What a scanner plugin does when its scanner is down or too slow. */
export type ScannerFailurePolicy = 'tempfail' | 'pass' | 'hold';

/** Thrown by a scanner under the `tempfail` policy; the calling hook fails closed (451). */
export class ScannerUnavailableError extends Error {
  readonly code = 'SMARTHOLD_SCANNER_UNAVAILABLE';
  constructor(
    readonly scanner: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${scanner}: ${message}`, options);
    this.name = 'ScannerUnavailableError';
  }
}

/**
 * Applies a failure policy: under `tempfail` throws, under `pass`/`hold`
 * returns a verdict that says the scan failed.
 *
 * @example
 * try { return await client.check(msg); } catch (err) { return scannerFailure('spamassassin', cfg.on_failure, err, started); }
 */
export function scannerFailure(
  scanner: string,
  policy: ScannerFailurePolicy,
  err: unknown,
  startedMs: number,
  threshold = 0,
): ScanVerdict {
  const reason = err instanceof Error ? err.message : String(err);
  if (policy === 'tempfail') throw new ScannerUnavailableError(scanner, reason, { cause: err });
  return {
    scanner,
    score: 0,
    threshold,
    isSpam: policy === 'hold',
    rules: [],
    durationMs: Date.now() - startedMs,
    failure: `${reason} (policy ${policy})`,
  };
}

declare module '../plugin/api.js' {
  interface Services {
    'spam-scanner': SpamScanner;
  }
}
