/**
 * scanner.ts — the `virus-scanner` service backed by clamd.
 *
 * `scan` streams the message to clamd with INSTREAM and returns a
 * {@link VirusVerdict}: infected or not, with clamd's signature names. A
 * message over `max_size` is not sent (verdict not infected, `skipped`
 * says why; what it then gets is its caller's choice, the hook's
 * `on_oversize`); a failed scan follows `on_failure` (throw
 * ScannerUnavailableError under tempfail, else a verdict whose `failure`
 * says why). It only reads the message: it never changes it, never sends
 * clamd anything but INSTREAM and PING, and decides nothing about the mail
 * (hook.ts does).
 */
import { ScannerUnavailableError, type ScanContext, type ScanMessage } from '@smarthold/core';
import type { ClamavConfig } from './config.js';
import { ClamavError, type ClamavErrorCode } from './errors.js';
import { ClamdFarm, type FarmDeps } from './farm.js';

/** The scanner's name in verdicts, results and logs. */
export const SCANNER_NAME = 'clamav';

/** A virus scanner's answer. */
export interface VirusVerdict {
  /** Which scanner answered ("clamav"). */
  readonly scanner: string;
  readonly infected: boolean;
  /** Signature names clamd reported (e.g. "Win.Test.EICAR_HDB-1"); empty when clean. */
  readonly viruses: readonly string[];
  /** The server that answered. */
  readonly server?: string;
  /** Set when the message was not sent (over `max_size`): it was not scanned. */
  readonly skipped?: string;
  /** Set when the scan failed and the failure policy (`pass` or `hold`) produced this verdict. */
  readonly failure?: string;
  /** The failure's stable code (errors.ts). */
  readonly code?: ClamavErrorCode;
  readonly durationMs: number;
}

/**
 * The `virus-scanner` service: any plugin may require it and scan a message
 * when its own logic wants to. It never changes the message.
 */
export interface VirusScanner {
  readonly name: string;
  /** Scans without changing anything. Throws ScannerUnavailableError when the scan fails under `on_failure = "tempfail"`. */
  scan(message: ScanMessage, context?: ScanContext): Promise<VirusVerdict>;
}

/** The clamd scanner: the service plus PING. */
export interface ClamavScanner extends VirusScanner {
  /** PING → PONG on the first server that answers. Throws ClamavError. */
  ping(): Promise<void>;
}

declare module '@smarthold/core' {
  interface Services {
    'virus-scanner': VirusScanner;
  }
}

/**
 * Builds the scanner from a validated config section.
 *
 * @example
 * const av = createClamavScanner(configSchema.parse({ servers: [{ address: '127.0.0.1:3310' }] }));
 * const v = await av.scan({ size: raw.length, openMessage: () => Readable.from([raw]) });
 * if (v.infected) console.log(v.viruses);
 */
export function createClamavScanner(config: ClamavConfig, deps: FarmDeps = {}): ClamavScanner {
  const now = deps.now ?? Date.now;
  const farm = new ClamdFarm(
    config.servers,
    { connectTimeoutMs: config.connect_timeout, downMs: config.down_time },
    deps,
  );

  return {
    name: SCANNER_NAME,

    // clamd reads only the bytes: of the context, only the queue id is used, in our own logs.
    async scan(message: ScanMessage, context?: ScanContext): Promise<VirusVerdict> {
      const started = now();
      const ids = context?.queueId === undefined ? {} : { queue_id: context.queueId };
      // Not a failure: the verdict says so, and its caller decides (the hook: on_oversize) and logs.
      if (message.size > config.max_size) {
        const skipped = `not scanned: ${message.size} octets is over max_size ${config.max_size}`;
        return { scanner: SCANNER_NAME, infected: false, viruses: [], skipped, durationMs: now() - started };
      }
      try {
        const { reply, server } = await farm.run({ kind: 'instream', message }, config.timeout);
        return {
          scanner: SCANNER_NAME,
          infected: reply.kind === 'found',
          viruses: reply.kind === 'found' ? reply.viruses : [],
          server,
          durationMs: now() - started,
        };
      } catch (err) {
        // A bug (not a ClamavError) is not the environment failing: it propagates.
        if (!(err instanceof ClamavError)) throw err;
        if (config.on_failure === 'tempfail') {
          throw new ScannerUnavailableError(SCANNER_NAME, `[${err.code}] ${err.message}`, { cause: err });
        }
        const failure = `${err.message} (policy ${config.on_failure})`;
        deps.warn?.(
          `clamd scan failed; on_failure = ${config.on_failure}: message ${config.on_failure === 'hold' ? 'held' : 'passed unscanned'}`,
          { ...ids, code: err.code, error: failure },
        );
        return {
          scanner: SCANNER_NAME,
          infected: false,
          viruses: [],
          failure,
          code: err.code,
          durationMs: now() - started,
        };
      }
    },

    async ping(): Promise<void> {
      await farm.run({ kind: 'ping' }, config.timeout);
    },
  };
}
