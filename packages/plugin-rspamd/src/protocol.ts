/**
 * protocol.ts — rspamd's HTTP protocol: request headers and /checkv2 replies.
 *
 * Pure functions, no I/O. Turns the envelope (ScanContext) into the request
 * headers rspamd reads, and the /checkv2 JSON into a typed result, then a
 * ScanVerdict. It ignores the `milter` block of the reply: headers rspamd
 * would like added or removed are never applied (a scanner changes nothing).
 *
 * Reference: rspamd "Protocol" (rspamd.com/doc/developers/protocol.html):
 * POST /checkv2 with the raw message as body and the envelope in headers
 * `From`, `Rcpt` (one per recipient), `IP`, `Helo`, `Queue-Id`, `User`,
 * `Settings-ID`; the reply is JSON with `score`, `required_score`, `action`,
 * `is_skipped` and `symbols` ({NAME: {name, score, description?}}).
 * Learning: POST /learnspam or /learnham on the controller, `Password` header.
 */
import type { ScanContext, ScanRule, ScanVerdict } from '@smarthold/core';
import { z } from 'zod';

/** Header name to value(s); arrays become repeated header lines (`Rcpt`). */
export type RequestHeaders = Record<string, string | string[]>;

/** Thrown when rspamd's reply cannot be understood or is an error. */
export class RspamdProtocolError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RspamdProtocolError';
  }
}

/**
 * A header value as octets: control characters (CR, LF…) dropped so no value
 * can inject a header, and UTF-8 (SMTPUTF8 addresses) sent as raw octets,
 * which node:http only accepts as latin1 code units.
 */
export function headerValue(value: string): string {
  const clean = value.replace(/[\x00-\x1f\x7f]/g, '');
  return Buffer.from(clean, 'utf8').toString('latin1');
}

/** The envelope headers for /checkv2. The null sender is sent as `<>`. */
export function envelopeHeaders(context: ScanContext | undefined, settingsId?: string): RequestHeaders {
  const h: RequestHeaders = {};
  if (context?.from !== undefined) h['From'] = context.from === '' ? '<>' : headerValue(context.from);
  const rcpts = (context?.to ?? []).map(headerValue).filter((r) => r !== '');
  if (rcpts.length > 0) h['Rcpt'] = rcpts;
  // rspamd checks SPF, RBLs and reputation against IP: the origin of the mail
  // (the entry in the trusted Received chain) is what matters, not our upstream MTA.
  const ip = context?.originIp ?? context?.clientIp;
  if (ip) h['IP'] = headerValue(ip);
  if (context?.helo) h['Helo'] = headerValue(context.helo);
  if (context?.queueId) h['Queue-Id'] = headerValue(context.queueId);
  if (context?.user) h['User'] = headerValue(context.user);
  if (settingsId) h['Settings-ID'] = settingsId;
  return h;
}

const symbolSchema = z.object({
  name: z.string().optional(),
  score: z.number().default(0),
  description: z.string().optional(),
});

const checkSchema = z.object({
  is_skipped: z.boolean().default(false),
  score: z.number(),
  required_score: z.number().optional(),
  action: z.string(),
  symbols: z.record(z.string(), symbolSchema).default({}),
});

/** The parts of a /checkv2 reply a verdict needs. */
export type CheckResult = z.output<typeof checkSchema>;

/** rspamd's default reject score, used when a reply has no `required_score`. */
const DEFAULT_REQUIRED = 15;

/** Parses the /checkv2 JSON body. */
export function parseCheck(body: string): CheckResult {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new RspamdProtocolError(`reply is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
  }
  const r = checkSchema.safeParse(json);
  if (!r.success)
    throw new RspamdProtocolError(
      `unexpected reply: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** Symbols as rules, highest score first (ties by name, so verdicts are stable). */
export function symbolRules(symbols: CheckResult['symbols']): ScanRule[] {
  return Object.entries(symbols)
    .map(([key, s]): ScanRule => ({
      name: s.name ?? key,
      score: s.score,
      ...(s.description ? { description: s.description } : {}),
    }))
    .sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
}

/**
 * Builds the verdict: spam when the action is one of `spamActions` or the
 * score reaches the threshold (`threshold` or rspamd's required_score).
 */
export function checkVerdict(
  result: CheckResult,
  opts: {
    scanner: string;
    spamActions: readonly string[];
    threshold: number | undefined;
    durationMs: number;
  },
): ScanVerdict {
  const threshold = opts.threshold ?? result.required_score ?? DEFAULT_REQUIRED;
  return {
    scanner: opts.scanner,
    score: result.score,
    threshold,
    isSpam: opts.spamActions.includes(result.action) || result.score >= threshold,
    rules: symbolRules(result.symbols),
    durationMs: opts.durationMs,
  };
}

/** What a learn request did. */
export interface LearnResult {
  /** False when rspamd had learned this message in this class already (HTTP 208). */
  readonly learned: boolean;
  readonly detail: string;
}

/** Interprets a controller reply to /learnspam or /learnham. */
export function parseLearn(status: number, body: string): LearnResult {
  let json: { success?: unknown; error?: unknown } = {};
  try {
    json = JSON.parse(body) as typeof json;
  } catch {
    // Some errors come back as plain text; the status decides.
  }
  const error = typeof json.error === 'string' ? json.error : body.slice(0, 200);
  if (status === 200 && json.success === true) return { learned: true, detail: 'learned' };
  // 208 Already Reported: this message is in that class already (rspamd learn cache).
  if (status === 208) return { learned: false, detail: error };
  throw new RspamdProtocolError(`learning failed: HTTP ${status}: ${error}`, status);
}
