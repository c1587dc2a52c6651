/**
 * scanner.ts — the `spam-scanner` service backed by rspamd.
 *
 * `scan` POSTs the message to /checkv2 with the envelope headers and turns
 * the JSON into a ScanVerdict, applying the failure policy; `learn` POSTs it
 * to the controller's /learnspam or /learnham. It only reads the message
 * stream, applies none of the `milter` header changes rspamd suggests, and
 * writes nothing but the HTTP request. Messages over `max_size` are not
 * sent; their verdict is "not spam" with the rule {@link SKIPPED_RULE}.
 * One rspamd URL: for a farm, put rspamd_proxy or an HTTP balancer in front.
 */
import {
  ScannerUnavailableError,
  guardedScan,
  SKIPPED_SIZE_RULE,
  type ScanGuard,
  type ScanContext,
  type ScanMessage,
  type ScanVerdict,
  type SpamScanner,
} from '@smarthold/core';
import type { RspamdConfig } from './config.js';
import { createAgents, postMessage, type Agents } from './http.js';
import {
  checkVerdict,
  envelopeHeaders,
  parseCheck,
  parseLearn,
  RspamdProtocolError,
  type LearnResult,
} from './protocol.js';

/** The scanner's name in verdicts, results and logs. */
export const SCANNER_NAME = 'rspamd';
/** Rule named in the verdict of a message that was too large to send. */
export const SKIPPED_RULE = SKIPPED_SIZE_RULE;
/** rspamd's default reject score, the threshold of verdicts without a reply. */
const RSPAMD_REJECT_SCORE = 15;

/** A spam-scanner with rspamd extras. */
export interface RspamdScanner extends SpamScanner {
  learn(message: ScanMessage, label: 'spam' | 'ham'): Promise<void>;
  /** learn with the detail: false when rspamd had learned the message already. */
  learnResult(message: ScanMessage, label: 'spam' | 'ham'): Promise<LearnResult>;
  /** Closes the keep-alive connections. */
  close(): void;
}

/** Injected time source for tests. */
export interface RspamdDeps {
  readonly now?: () => number;
  /** Told when a failed scan was passed or held under on_failure. */
  readonly warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * Builds the scanner from a validated config section.
 *
 * @example
 * const r = createRspamdScanner(configSchema.parse({ url: 'http://127.0.0.1:11333' }));
 * const v = await r.scan(message, { from: 'a@example.com', to: ['b@example.org'], clientIp: '192.0.2.1' });
 */
export function createRspamdScanner(config: RspamdConfig, deps: RspamdDeps = {}): RspamdScanner {
  const now = deps.now ?? Date.now;
  const agents: Agents = createAgents(config.max_connections);
  const fallbackThreshold = config.threshold ?? RSPAMD_REJECT_SCORE;
  const guard: ScanGuard = {
    scanner: SCANNER_NAME,
    policy: config.on_failure,
    maxSize: config.max_size,
    threshold: fallbackThreshold,
    now,
    ...(deps.warn ? { warn: deps.warn } : {}),
  };

  /** Network failures and deadlines are ScannerUnavailableError; refusals keep their type. */
  const unavailable = (err: unknown): unknown =>
    err instanceof RspamdProtocolError && err.status !== undefined && err.status < 500
      ? err
      : new ScannerUnavailableError(SCANNER_NAME, err instanceof Error ? err.message : String(err), {
          cause: err,
        });

  async function check(
    message: ScanMessage,
    context: ScanContext | undefined,
    started: number,
  ): Promise<ScanVerdict> {
    const reply = await postMessage(
      `${config.url}/checkv2`,
      envelopeHeaders(context, config.settings_id),
      message,
      {
        timeoutMs: config.timeout,
        agents,
      },
    );
    if (reply.status !== 200) {
      throw new RspamdProtocolError(
        `rspamd answered HTTP ${reply.status} ${reply.statusText}: ${reply.body.slice(0, 200)}`.trim(),
        reply.status,
      );
    }
    return checkVerdict(parseCheck(reply.body), {
      scanner: SCANNER_NAME,
      spamActions: config.spam_actions,
      threshold: config.threshold,
      durationMs: now() - started,
    });
  }

  async function learnResult(message: ScanMessage, label: 'spam' | 'ham'): Promise<LearnResult> {
    if (message.size > config.max_size) {
      throw new RspamdProtocolError(
        `message of ${message.size} octets is over max_size ${config.max_size}; not learned`,
      );
    }
    const headers: Record<string, string> =
      config.password === undefined ? {} : { Password: config.password };
    try {
      const reply = await postMessage(`${config.controller_url}/learn${label}`, headers, message, {
        timeoutMs: config.timeout,
        agents,
      });
      return parseLearn(reply.status, reply.body);
    } catch (err) {
      throw unavailable(err);
    }
  }

  return {
    name: SCANNER_NAME,

    scan(message: ScanMessage, context?: ScanContext): Promise<ScanVerdict> {
      // Down, refused, garbled or over the deadline (HttpDeadlineError): the policy decides.
      return guardedScan(guard, message, (started) => check(message, context, started));
    },

    async learn(message: ScanMessage, label: 'spam' | 'ham'): Promise<void> {
      // "Already learned" (208) is not an error: the message is in that class.
      await learnResult(message, label);
    },

    learnResult,

    close(): void {
      agents.destroy();
    },
  };
}
