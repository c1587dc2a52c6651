/**
 * hook.ts — the data hook: scan every message, refuse or hold infected mail.
 *
 * Every message is scanned (a virus matters whoever sent it and wherever it
 * goes, unlike spam for the quarantine's decision matrix). The verdict is
 * recorded in the results (`clamav.verdict`) so `smarthold explain` shows it.
 * Infected: `reject` answers 554 5.7.1 naming the signature (the upstream MTA
 * bounces), `hold` keeps the message in the hold queue for every recipient.
 * A failed scan: 451 under `on_failure = "tempfail"`, held under `hold`,
 * delivered and recorded under `pass`. A message over `max_size`, not
 * scanned, gets `on_oversize`: delivered (`pass`), held like infected mail
 * under `action = "hold"`, 451 4.3.0 or 552 5.3.4 (see oversizeVerdict).
 * It never changes the message.
 */
import {
  ScannerUnavailableError,
  verdict,
  type MessageTransaction,
  type MessageVerdict,
} from '@smarthold/core';
import type { Logger } from 'pino';
import type { ClamavConfig, OversizePolicy } from './config.js';
import type { VirusScanner, VirusVerdict } from './scanner.js';

/** A signature name as it may appear in an SMTP reply: printable ASCII, bounded (RFC 5321 4.5.3.1.5). */
export function replySafe(name: string): string {
  const clean = name.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}...` : clean;
}

/** The verdict as JSON for the results store. */
export function verdictRecord(v: VirusVerdict): Record<string, string | number | boolean | null | string[]> {
  return {
    scanner: v.scanner,
    infected: v.infected,
    viruses: [...v.viruses],
    server: v.server ?? null,
    skipped: v.skipped ?? null,
    failure: v.failure ?? null,
    code: v.code ?? null,
    durationMs: Math.round(v.durationMs),
  };
}

/** What the hook works with. */
export interface HookDeps {
  readonly scanner: VirusScanner;
  /** `on_oversize` defaults to "pass", as in the schema; `max_size` only names the limit in the log. */
  readonly config: Pick<ClamavConfig, 'action' | 'on_failure'> &
    Partial<Pick<ClamavConfig, 'on_oversize' | 'max_size'>>;
  readonly log: Logger;
}

/**
 * What a message too large to scan gets under `on_oversize`, and how the log
 * says it. The codes are the ones a mail operator knows for size:
 * - reject: 552 5.3.4, as for a message over `[smtp] max_message_size`
 *   (RFC 1870 section 4 and RFC 5321 4.2.3: 552 for a message over a fixed size
 *   limit; RFC 3463 X.3.4 "message too big for system", a permanent status);
 *   the client bounces it to its sender, who can send it smaller.
 * - tempfail: 451 4.3.0, the 451 of a scan that could not be made: RFC 3463
 *   says X.3.4 is useful only as a permanent error, and 452 would claim a
 *   full disk. The client keeps the message and retries until `max_size` is
 *   raised or its queue lifetime runs out.
 *
 * @example
 * oversizeVerdict('reject', 'not scanned: 30000000 octets is over max_size 26214400', 26214400)
 * // { verdict: { kind: 'reject', code: 552, enhanced: '5.3.4', text: '...' }, outcome: '552' }
 */
export function oversizeVerdict(
  policy: OversizePolicy,
  skipped: string,
  maxSize: number | undefined,
): { verdict: MessageVerdict; outcome: string } {
  const limit = maxSize === undefined ? '' : ` (limit ${maxSize} octets)`;
  switch (policy) {
    case 'hold':
      return { verdict: verdict.hold(`clamav: ${skipped}`), outcome: 'held' };
    case 'tempfail':
      return {
        verdict: verdict.tempfail('Message too big for the virus scan, try again later', {
          code: 451,
          enhanced: '4.3.0',
        }),
        outcome: '451',
      };
    case 'reject':
      return {
        verdict: verdict.reject(`Message too big for the virus scan${limit}`, {
          code: 552,
          enhanced: '5.3.4',
        }),
        outcome: '552',
      };
    case 'pass':
      return { verdict: verdict.next(), outcome: 'passed unscanned' };
  }
}

/**
 * Builds the data hook.
 *
 * @example
 * ctx.hook('data', createDataHook({ scanner, config: ctx.config, log: ctx.log }), { timeoutMs: ctx.config.timeout + 2000 });
 */
export function createDataHook(d: HookDeps): (tx: MessageTransaction) => Promise<MessageVerdict> {
  return async (tx) => {
    let v: VirusVerdict;
    try {
      v = await d.scanner.scan(tx, {
        queueId: tx.queueId,
        from: tx.from,
        to: tx.to,
        clientIp: tx.session.remoteAddress,
      });
    } catch (err) {
      if (!(err instanceof ScannerUnavailableError)) throw err;
      // The failure of something we depend on defers the mail: the client keeps it and retries.
      d.log.warn(
        { queue_id: tx.queueId, error: err.message },
        'clamd scan failed; on_failure = tempfail: 451',
      );
      tx.results.set('verdict', { scanner: 'clamav', infected: false, viruses: [], failure: err.message });
      return verdict.tempfail('Virus scan not available, try again later', { code: 451, enhanced: '4.3.0' });
    }
    if (v.skipped !== undefined) {
      const policy = d.config.on_oversize ?? 'pass';
      tx.results.set('verdict', { ...verdictRecord(v), on_oversize: policy });
      const { verdict: answer, outcome } = oversizeVerdict(policy, v.skipped, d.config.max_size);
      d.log.info(
        {
          queue_id: tx.queueId,
          from: tx.from,
          size: tx.size,
          max_size: d.config.max_size,
          on_oversize: policy,
        },
        `message too large for clamd; on_oversize = ${policy}: ${outcome}`,
      );
      return answer;
    }
    tx.results.set('verdict', verdictRecord(v));
    if (v.infected) {
      const names = v.viruses.map(replySafe).join(', ');
      d.log.info(
        {
          queue_id: tx.queueId,
          from: tx.from,
          viruses: v.viruses,
          server: v.server,
          action: d.config.action,
        },
        `virus found: ${names}`,
      );
      if (d.config.action === 'hold') return verdict.hold(`virus: ${names}`);
      return verdict.reject(`Message rejected: virus found (${names})`, { code: 554, enhanced: '5.7.1' });
    }
    if (v.failure && d.config.on_failure === 'hold') return verdict.hold(`clamav: not scanned: ${v.failure}`);
    return verdict.next();
  };
}
