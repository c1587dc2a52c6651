/**
 * transaction.ts — drive one SMTP transaction through the plugins, no socket.
 *
 * The stages run in ingress's order and with ingress's rules (smtp/ingress.ts
 * and smtp/data-phase.ts): connect; helo (run at MAIL, with the transaction's
 * results); mail; rcpt for each recipient (a refused recipient is left out,
 * an untrusted unauthenticated client gets "Relay access denied"); then the
 * DATA phase, which is core's own runDataPhase (spool with our Received line,
 * line-end, size and loop checks, data and queue hooks, commit into the
 * throw-away store of the test host). A refusal at connect, helo or mail ends
 * the run, as it ends the SMTP transaction. Replies come from core's reply
 * functions. Nothing is delivered: the outcome per recipient is reported.
 */
import { Readable } from 'node:stream';
import {
  newQueueId,
  newTx,
  runDataPhase,
  smtpReply,
  checkRecipient,
  commandReply,
  type CommandVerdict,
  type MessageDecision,
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
  return {
    code: r.responseCode,
    enhanced: r.enhanced,
    lines: r.lines,
    text: `${r.responseCode} ${r.message}`,
  };
}

function ok(code: number, enhanced: string, text: string): StageReply {
  return { code, enhanced, lines: [text], text: `${code} ${enhanced} ${text}` };
}

/** As ingress: reject gets the stage's default code, tempfail 451 4.3.0; continue/accept no refusal. */
function stageReply(v: CommandVerdict, code: number): StageReply | undefined {
  const r = commandReply(v, { code, enhanced: '5.7.1' });
  return r && toStage(r);
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
export async function runTransaction(
  plugins: readonly PluginManifest[] | TestHost,
  input: RunOptions,
): Promise<TransactionResult> {
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
  // The transaction as ingress keeps it (recipients are added as RCPT accepts them).
  const state = newTx(queueId, input.from, now);
  const results = state.results;
  const replies: {
    connect?: StageReply;
    helo?: StageReply;
    mail?: StageReply;
    rcpt: Record<string, StageReply>;
    data?: StageReply;
  } = { rcpt: {} };
  const verdicts: {
    connect?: CommandVerdict;
    helo?: CommandVerdict;
    mail?: CommandVerdict;
    rcpt: Record<string, CommandVerdict>;
    data?: MessageResult;
  } = {
    rcpt: {},
  };
  const outcomes: Record<string, RecipientResult> = Object.fromEntries(
    input.to.map((r) => [r, { kind: 'not-reached' } as const]),
  );
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
  const refused = stageReply(verdicts.connect, 554);
  if (refused) {
    replies.connect =
      verdicts.connect.kind === 'tempfail'
        ? toStage(smtpReply(421, refused.enhanced, refused.lines))
        : refused;
    return done();
  }
  replies.connect = ok(220, '2.0.0', `${config.smtp.hostname} ESMTP`);

  // HELO hooks run at the first MAIL, with that transaction's results (as ingress does).
  const helo = session.helo ?? '';
  verdicts.helo = await host.helo(session, helo, results);
  replies.helo = stageReply(verdicts.helo, 550) ?? ok(250, '2.0.0', `${config.smtp.hostname} Hello ${helo}`);
  if (replies.helo.code >= 400) return done();

  const to = state.to;
  const tx = (): Transaction => ({
    queueId,
    session,
    from: input.from,
    to: [...to],
    results: results.view('core'),
  });
  verdicts.mail = await host.mail(tx(), results);
  replies.mail = stageReply(verdicts.mail, 550) ?? ok(250, '2.1.0', 'Accepted');
  if (replies.mail.code >= 400) return done();

  for (const rcpt of input.to) {
    // smarthold's own checks first (address, limit, relay access), exactly as ingress applies them.
    const refused = checkRecipient(config.smtp, {
      address: rcpt,
      smtpUtf8: true,
      accepted: to.length,
      session,
    });
    if (refused) {
      replies.rcpt[rcpt] = toStage(refused);
    } else {
      const v = await host.rcpt(tx(), rcpt, results);
      verdicts.rcpt[rcpt] = v;
      const r = stageReply(v, 550);
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

  // The DATA phase is core's own (smtp/data-phase.ts): spooled with our Received line, line ends,
  // size and loop checks, the data and queue hooks, and the commit into the throw-away store.
  const raw = Buffer.isBuffer(input.message) ? input.message : Buffer.from(input.message);
  const r = await runDataPhase(t.dataPhase, Readable.from([raw]), session, true, state, () => false);
  if (r.decision) verdicts.data = r.decision;
  replies.data = r.ok ? ok(250, '2.0.0', r.text.replace(/^2\.0\.0 /, '')) : toStage(r.reply);
  const stored = await t.store.get(queueId);
  accepted = stored !== undefined;
  for (const rcpt of to) {
    const state = stored?.recipients.find((x) => x.address === rcpt);
    if (state?.state === 'hold') outcomes[rcpt] = { kind: 'hold', reason: state.delay_reason };
    else if (state?.state === 'discarded') outcomes[rcpt] = { kind: 'discard', reason: state.delay_reason };
    else if (state) outcomes[rcpt] = { kind: 'deliver' };
    else outcomes[rcpt] = { kind: replies.data.code >= 500 ? 'rejected' : 'tempfailed', reply: replies.data };
  }
  return done(stored ? await readAll(t.dataPhase.spool.open(queueId)) : undefined);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
