/**
 * transaction.ts — drive one SMTP transaction through the plugins, no socket.
 *
 * The stages run in ingress's order and with ingress's rules (smtp/ingress.ts
 * and smtp/data-phase.ts): connect; helo (run at MAIL, with the transaction's
 * results); mail; rcpt for each recipient (a refused recipient is left out,
 * an untrusted unauthenticated client gets "Relay access denied"); then the
 * data and queue hooks through PluginHost.message, with smarthold's Received
 * line in front of the message when `[smtp] received_header` is on. A refusal
 * at connect, helo or mail ends the run, as it ends the SMTP transaction.
 * Replies come from core's verdictReply. It does not spool, commit or deliver:
 * the outcome per recipient is reported instead.
 */
import { Readable } from 'node:stream';
import {
  headerList,
  newQueueId,
  parseHeaders,
  receivedLine,
  ResultsStore,
  smtpReply,
  verdictReply,
  type CommandVerdict,
  type MessageDecision,
  type MessageTransaction,
  type MessageVerdict,
  type PluginManifest,
  type RecipientOutcome,
  type ResultRecord,
  type SessionInfo,
  type SmtpReply,
  type TraceEntry,
  type Transaction,
} from '@smarthold/core';
import { createTestHost, type SubmittedMessage, type TestHost, type TestHostOptions } from './host.js';

/** One SMTP reply as the client would see it. */
export interface StageReply {
  readonly code: number;
  /** RFC 3463 enhanced status code. */
  readonly enhanced: string;
  readonly lines: readonly string[];
  /** "550 5.7.1 text" (lines joined with "\n"). */
  readonly text: string;
}

/** The message verdict after the data and queue hooks: a refusal, or acceptance with an outcome per recipient. */
export type MessageResult = MessageDecision | Extract<MessageVerdict, { kind: 'reject' | 'tempfail' }>;

/** What happened to one recipient: refused at RCPT, or the outcome of the accepted message. */
export type RecipientResult =
  | RecipientOutcome
  | { readonly kind: 'refused'; readonly reply: StageReply }
  | { readonly kind: 'rejected' | 'tempfailed'; readonly reply: StageReply }
  | { readonly kind: 'not-reached' };

/** The command stages and the message stage. */
export type Stage = 'connect' | 'helo' | 'mail' | 'rcpt' | 'data';

/** What {@link runTransaction} returns. */
export interface TransactionResult {
  readonly queueId: string;
  /** Replies per stage; `rcpt` keyed by recipient. A stage not reached has no entry. */
  readonly replies: {
    readonly connect?: StageReply;
    readonly helo?: StageReply;
    readonly mail?: StageReply;
    readonly rcpt: Readonly<Record<string, StageReply>>;
    readonly data?: StageReply;
  };
  /** Verdicts per stage as the host merged them; `data` covers the data and queue hooks. */
  readonly verdicts: {
    readonly connect?: CommandVerdict;
    readonly helo?: CommandVerdict;
    readonly mail?: CommandVerdict;
    readonly rcpt: Readonly<Record<string, CommandVerdict>>;
    readonly data?: MessageResult;
  };
  /** What happens to each recipient given. */
  readonly outcomes: Readonly<Record<string, RecipientResult>>;
  /** True when the message was accepted (queued, held or discarded). */
  readonly accepted: boolean;
  readonly results: readonly ResultRecord[];
  readonly trace: readonly TraceEntry[];
  /** Messages plugins submitted during the transaction. */
  readonly submitted: readonly SubmittedMessage[];
  /** The message as it would be relayed (with our Received line when enabled); undefined when DATA was not reached. */
  readonly message: Buffer | undefined;
}

/** The transaction to run. */
export interface TransactionInput {
  /** Envelope sender; '' for <>. */
  readonly from: string;
  readonly to: readonly string[];
  /** The complete RFC 5322 message (CRLF line ends, as on the wire after dot-unstuffing). */
  readonly message: string | Buffer;
  /** Overrides of the client session; the default is a trusted client at 192.0.2.10 saying EHLO client.example. */
  readonly session?: Partial<SessionInfo>;
}

/** Options of {@link runTransaction} when it sets the plugins up itself. */
export interface RunOptions extends TransactionInput, TestHostOptions {}

/** The session used when the test gives none. 192.0.2.0/24 is TEST-NET-1 (RFC 5737). */
export function testSession(over: Partial<SessionInfo> = {}): SessionInfo {
  const remoteAddress = over.remoteAddress ?? '192.0.2.10';
  return {
    id: 'testkit-session',
    remoteAddress,
    remotePort: 50000,
    clientHostname: `[${remoteAddress}]`,
    localAddress: '127.0.0.1',
    localPort: 25,
    helo: 'client.example',
    tls: false,
    user: undefined,
    trustedNetwork: true,
    ...over,
  };
}

function toStage(r: SmtpReply): StageReply {
  return { code: r.responseCode, enhanced: r.enhanced, lines: r.lines, text: `${r.responseCode} ${r.message}` };
}

function ok(code: number, enhanced: string, text: string): StageReply {
  return { code, enhanced, lines: [text], text: `${code} ${enhanced} ${text}` };
}

/** As ingress: reject gets the stage's default code, tempfail 451 4.3.0; continue/accept no refusal. */
function commandReply(v: CommandVerdict, code: number): StageReply | undefined {
  if (v.kind === 'reject') return toStage(verdictReply(v, { code, enhanced: '5.7.1' }));
  if (v.kind === 'tempfail') return toStage(verdictReply(v, { code: 451, enhanced: '4.3.0' }));
  return undefined;
}

/** The header block: the bytes before the first empty line (RFC 5322 §2.1). */
function headerBlock(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const ends = [crlf, lf].filter((i) => i >= 0);
  return ends.length ? raw.subarray(0, Math.min(...ends)) : raw;
}

/**
 * Runs one transaction through the plugins' hooks, as ingress would, and
 * reports every stage. Pass plugin manifests (they are set up for this run
 * and closed after it) or a {@link TestHost} to share set-up between runs.
 *
 * @example
 * const r = await runTransaction([myPlugin], { from: 'a@example.org', to: ['b@example.net'], message: 'Subject: hi\r\n\r\nhello\r\n' });
 * assertVerdict(r, 'data', 'hold');
 */
export async function runTransaction(plugins: readonly PluginManifest[] | TestHost, input: RunOptions): Promise<TransactionResult> {
  if (!Array.isArray(plugins)) return drive(plugins as TestHost, input);
  const t = await createTestHost(plugins as readonly PluginManifest[], input);
  try {
    return await drive(t, input);
  } finally {
    await t.close();
  }
}

async function drive(t: TestHost, input: TransactionInput): Promise<TransactionResult> {
  const { host, config, clock } = t;
  const session = testSession(input.session);
  const submittedBefore = t.submitted.length;
  const now = clock.now();
  const queueId = newQueueId(now);
  const results = new ResultsStore();
  const replies: { connect?: StageReply; helo?: StageReply; mail?: StageReply; rcpt: Record<string, StageReply>; data?: StageReply } = { rcpt: {} };
  const verdicts: { connect?: CommandVerdict; helo?: CommandVerdict; mail?: CommandVerdict; rcpt: Record<string, CommandVerdict>; data?: MessageResult } = {
    rcpt: {},
  };
  const outcomes: Record<string, RecipientResult> = Object.fromEntries(input.to.map((r) => [r, { kind: 'not-reached' } as const]));
  let accepted = false;
  const done = (message?: Buffer): TransactionResult => ({
    queueId,
    replies,
    verdicts,
    outcomes,
    accepted,
    results: [...results.all()],
    trace: [...results.trace],
    submitted: t.submitted.slice(submittedBefore),
    message,
  });

  // Connect: a refusal is 421 (tempfail) or 554 (reject), and the connection closes.
  verdicts.connect = await host.connect(session);
  const refused = commandReply(verdicts.connect, 554);
  if (refused) {
    replies.connect = verdicts.connect.kind === 'tempfail' ? toStage(smtpReply(421, refused.enhanced, refused.lines)) : refused;
    return done();
  }
  replies.connect = ok(220, '2.0.0', `${config.smtp.hostname} ESMTP`);

  // HELO hooks run at the first MAIL, with that transaction's results (as ingress does).
  const helo = session.helo ?? '';
  verdicts.helo = await host.helo(session, helo, results);
  replies.helo = commandReply(verdicts.helo, 550) ?? ok(250, '2.0.0', `${config.smtp.hostname} Hello ${helo}`);
  if (replies.helo.code >= 400) return done();

  const to: string[] = [];
  const tx = (): Transaction => ({ queueId, session, from: input.from, to: [...to], results: results.view('core') });
  verdicts.mail = await host.mail(tx(), results);
  replies.mail = commandReply(verdicts.mail, 550) ?? ok(250, '2.1.0', 'Accepted');
  if (replies.mail.code >= 400) return done();

  for (const rcpt of input.to) {
    if (to.length >= config.smtp.max_recipients) {
      replies.rcpt[rcpt] = toStage(smtpReply(452, '4.5.3', 'Too many recipients'));
    } else if (!session.trustedNetwork && session.user === undefined) {
      replies.rcpt[rcpt] = toStage(smtpReply(554, '5.7.1', `<${rcpt}>: Relay access denied`));
    } else {
      const v = await host.rcpt(tx(), rcpt, results);
      verdicts.rcpt[rcpt] = v;
      const r = commandReply(v, 550);
      if (r) replies.rcpt[rcpt] = r;
      else {
        replies.rcpt[rcpt] = ok(250, '2.1.5', 'Accepted');
        to.push(rcpt);
      }
    }
    const r = replies.rcpt[rcpt];
    if (r.code >= 400) outcomes[rcpt] = { kind: 'refused', reply: r };
  }
  if (!to.length) {
    replies.data = toStage(smtpReply(503, '5.5.1', 'No valid recipients'));
    return done();
  }

  const original = Buffer.isBuffer(input.message) ? input.message : Buffer.from(input.message);
  const prefix = config.smtp.received_header
    ? receivedLine({
        helo: session.helo,
        clientHostname: session.clientHostname,
        remoteAddress: session.remoteAddress,
        hostname: config.smtp.hostname,
        esmtp: true,
        tls: session.tls,
        auth: session.user !== undefined,
        queueId,
        recipients: to,
        date: new Date(now),
      })
    : '';
  const relayed = Buffer.concat([Buffer.from(prefix), original]);
  const mtx: MessageTransaction = {
    ...tx(),
    headers: headerList(parseHeaders(headerBlock(original))),
    size: relayed.length,
    openMessage: () => Readable.from([relayed]),
  };
  const decision = await host.message(mtx, results);
  verdicts.data = decision;
  if (decision.kind === 'tempfail' || decision.kind === 'reject') {
    const r = toStage(verdictReply(decision));
    replies.data = r;
    if (decision.kind === 'reject' && decision.hold) {
      // Refused to the client but kept in the hold queue (data-phase.ts).
      accepted = true;
      for (const rcpt of to) outcomes[rcpt] = { kind: 'hold', reason: decision.hold.reason };
    } else {
      for (const rcpt of to) outcomes[rcpt] = { kind: decision.kind === 'reject' ? 'rejected' : 'tempfailed', reply: r };
    }
    return done(relayed);
  }
  accepted = true;
  for (const rcpt of to) outcomes[rcpt] = decision.outcomes.get(rcpt) ?? { kind: 'deliver' };
  replies.data = ok(250, '2.0.0', `Ok: queued as ${queueId}`);
  return done(relayed);
}
