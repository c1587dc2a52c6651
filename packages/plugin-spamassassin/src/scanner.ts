/**
 * scanner.ts — the `spam-scanner` service backed by a spamd farm.
 *
 * `scan` sends the message with REPORT (rule scores and descriptions) or
 * SYMBOLS (rule names), turns the reply into a ScanVerdict and applies the
 * failure policy; `learn` teaches spamd's Bayes with TELL. It only reads the
 * message stream: it never sends PROCESS or HEADERS, never asks for a
 * rewritten message, and writes nothing anywhere but the spamd socket.
 * Messages over `max_size` are not sent (as spamc does); their verdict is
 * "not spam" with the rule {@link SKIPPED_RULE}.
 */
import {
  ScannerUnavailableError,
  guardedScan,
  SKIPPED_SIZE_RULE,
  type ScanGuard,
  type ScanMessage,
  type ScanVerdict,
  type SpamScanner,
} from '@smarthold/core';
import type { SpamAssassinConfig } from './config.js';
import { FarmDeadlineError, FarmError, SpamdFarm, type FarmDeps } from './farm.js';
import {
  expectOk,
  parseReport,
  parseSpamHeader,
  parseSymbols,
  parseTell,
  SpamdProtocolError,
  type RequestHeaders,
} from './protocol.js';

/** The scanner's name in verdicts, results and logs. */
export const SCANNER_NAME = 'spamassassin';
/** Rule named in the verdict of a message that was too large to send. */
export const SKIPPED_RULE = SKIPPED_SIZE_RULE;
/** SpamAssassin's default `required_score`, used when spamd gave none (failures, skips). */
const SA_REQUIRED_SCORE = 5;

/** The result of a TELL: which Bayes databases spamd says it changed. */
export interface TellResult {
  /** `['local']` when the message was learned; empty when spamd knew it already. */
  readonly didSet: readonly string[];
  readonly server: string;
}

/** A spam-scanner with spamd extras: TELL's detail and PING. */
export interface SpamAssassinScanner extends SpamScanner {
  learn(message: ScanMessage, label: 'spam' | 'ham'): Promise<void>;
  /** TELL with the detail of what spamd did. Throws when no server answered. */
  tell(message: ScanMessage, label: 'spam' | 'ham'): Promise<TellResult>;
  /** PING → PONG on one server of the farm. */
  ping(): Promise<void>;
}

/**
 * Builds the scanner from a validated config section.
 *
 * @example
 * const sa = createSpamAssassinScanner(configSchema.parse({ servers: [{ address: '127.0.0.1:783' }] }));
 * const v = await sa.scan({ size: raw.length, openMessage: () => Readable.from([raw]) });
 */
export function createSpamAssassinScanner(
  config: SpamAssassinConfig,
  deps: FarmDeps = {},
): SpamAssassinScanner {
  const now = deps.now ?? Date.now;
  const farm = new SpamdFarm(
    config.servers,
    { connectTimeoutMs: config.connect_timeout, downMs: config.down_time },
    deps,
  );
  const user: RequestHeaders = config.user === undefined ? {} : { User: config.user };
  const fallbackThreshold = config.threshold ?? SA_REQUIRED_SCORE;
  const guard: ScanGuard = {
    scanner: SCANNER_NAME,
    label: 'spamd',
    policy: config.on_failure,
    maxSize: config.max_size,
    threshold: fallbackThreshold,
    now,
    ...(deps.warn ? { warn: deps.warn } : {}),
  };

  /** Network and deadline failures are ScannerUnavailableError; others keep their type. */
  const unavailable = (err: unknown): unknown =>
    err instanceof FarmError || err instanceof FarmDeadlineError
      ? new ScannerUnavailableError(SCANNER_NAME, err.message, { cause: err })
      : err;

  async function check(message: ScanMessage, started: number): Promise<ScanVerdict> {
    const method = config.mode === 'report' ? 'REPORT' : 'SYMBOLS';
    const { reply } = await farm.run(
      { method, headers: { 'Content-length': message.size, ...user }, message },
      config.timeout,
    );
    expectOk(reply);
    const spam = parseSpamHeader(reply.headers.get('spam'));
    const rules = method === 'REPORT' ? parseReport(reply.body) : parseSymbols(reply.body);
    const threshold = config.threshold ?? spam.required;
    return {
      scanner: SCANNER_NAME,
      score: spam.score,
      threshold,
      // Without an override, spamd's own decision (score >= its required_score).
      isSpam: config.threshold === undefined ? spam.isSpam : spam.score >= threshold,
      rules,
      durationMs: now() - started,
    };
  }

  async function tell(message: ScanMessage, label: 'spam' | 'ham'): Promise<TellResult> {
    if (message.size > config.max_size) {
      throw new SpamdProtocolError(
        `message of ${message.size} octets is over max_size ${config.max_size}; not learned`,
      );
    }
    try {
      const { reply, server } = await farm.run(
        {
          method: 'TELL',
          headers: { 'Message-class': label, Set: 'local', 'Content-length': message.size, ...user },
          message,
        },
        config.timeout,
      );
      expectOk(reply);
      const label_ = server.kind === 'tcp' ? `${server.host}:${server.port}` : `unix:${server.path}`;
      return { didSet: parseTell(reply).didSet, server: label_ };
    } catch (err) {
      throw unavailable(err);
    }
  }

  return {
    name: SCANNER_NAME,

    // spamd reads only the message: the envelope (ScanContext) has no place in SPAMC.
    scan(message: ScanMessage): Promise<ScanVerdict> {
      return guardedScan(guard, message, (started) => check(message, started));
    },

    async learn(message: ScanMessage, label: 'spam' | 'ham'): Promise<void> {
      // An empty DidSet means spamd had learned this message already: not an error.
      await tell(message, label);
    },

    tell,

    async ping(): Promise<void> {
      try {
        const { reply } = await farm.run({ method: 'PING' }, config.timeout);
        expectOk(reply);
        if (!/PONG/.test(reply.text)) throw new SpamdProtocolError(`PING answered ${reply.text}`);
      } catch (err) {
        throw unavailable(err);
      }
    },
  };
}
