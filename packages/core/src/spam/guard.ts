/**
 * spam/guard.ts — what every networked scanner does around its own check.
 *
 * A message over the scanner's size limit is not sent (verdict "not spam"
 * with the rule SMARTHOLD_SKIPPED_SIZE, as spamc does with its size limit);
 * a scanner that fails is handled by its failure policy (spam/contract.ts
 * `scannerFailure`: throw under tempfail, else a verdict saying so), and a
 * message passed or held unscanned is logged. It does not talk to any scanner.
 */
import { scannerFailure, type ScanMessage, type ScannerFailurePolicy, type ScanVerdict } from './contract.js';

/** The rule a verdict carries when the message was too big to send. */
export const SKIPPED_SIZE_RULE = 'SMARTHOLD_SKIPPED_SIZE';

export interface ScanGuard {
  readonly scanner: string;
  /** How logs name what failed (the daemon, e.g. "spamd"); defaults to `scanner`. */
  readonly label?: string;
  readonly policy: ScannerFailurePolicy;
  readonly maxSize: number;
  /** Threshold reported when the scanner gave none (skipped or failed). */
  readonly threshold: number;
  readonly now?: () => number;
  /** Told when a failed scan was passed or held under the policy. */
  readonly warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * Runs `check` for a message, applying the size limit and the failure policy.
 *
 * @example
 * scan: (message) => guardedScan({ scanner: 'rspamd', policy: cfg.on_failure, maxSize: cfg.max_size, threshold: 15 }, message, (started) => check(message, started)),
 */
export async function guardedScan(
  g: ScanGuard,
  message: ScanMessage,
  check: (started: number) => Promise<ScanVerdict>,
): Promise<ScanVerdict> {
  const now = g.now ?? Date.now;
  const started = now();
  if (message.size > g.maxSize) {
    return {
      scanner: g.scanner,
      score: 0,
      threshold: g.threshold,
      isSpam: false,
      rules: [
        {
          name: SKIPPED_SIZE_RULE,
          score: 0,
          description: `not scanned: ${message.size} octets is over max_size ${g.maxSize}`,
        },
      ],
      durationMs: now() - started,
    };
  }
  try {
    return await check(started);
  } catch (err) {
    // Under tempfail this throws: the calling hook fails closed (451) and the host logs it.
    const failed = scannerFailure(g.scanner, g.policy, err, started, g.threshold);
    g.warn?.(
      `${g.label ?? g.scanner} scan failed; on_failure = ${g.policy}: message ${failed.isSpam ? 'treated as spam' : 'passed unscanned'}`,
      {
        error: failed.failure,
      },
    );
    return failed;
  }
}
