/**
 * hook.ts — the data hook: scan every message, refuse or hold infected mail.
 *
 * Every message is scanned (a virus matters whoever sent it and wherever it
 * goes, unlike spam for the quarantine's decision matrix). The verdict is
 * recorded in the results (`clamav.verdict`) so `smarthold explain` shows it.
 * Infected: `reject` answers 554 5.7.1 naming the signature (the upstream MTA
 * bounces), `hold` keeps the message in the hold queue for every recipient.
 * A failed scan: 451 under `on_failure = "tempfail"`, held under `hold`,
 * delivered and recorded under `pass`. It never changes the message.
 */
import {
  ScannerUnavailableError,
  verdict,
  type MessageTransaction,
  type MessageVerdict,
} from '@smarthold/core';
import type { Logger } from 'pino';
import type { ClamavConfig } from './config.js';
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
  readonly config: Pick<ClamavConfig, 'action' | 'on_failure'>;
  readonly log: Logger;
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
