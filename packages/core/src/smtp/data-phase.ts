/**
 * smtp/data-phase.ts — from DATA to the reply: spool, hooks, commit.
 *
 * The order is fixed: stream the body to a temp file (with our Received line
 * in front), check size / bare newlines / Received count, fsync, run the data
 * and queue hooks, then commit (body, then records) and only then answer 250.
 * Anything that fails on our side answers 451 and leaves nothing queued.
 * Replies come from smtp/reply.ts; the verdict merge from plugin/host.ts.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../metrics.js';
import type { MessageTransaction, SessionInfo } from '../plugin/api.js';
import type { PluginHost } from '../plugin/host.js';
import type { RecipientOutcome } from '../plugin/verdict.js';
import type { Committer } from '../store/committer.js';
import type { Spool, SpoolWriter } from '../store/spool.js';
import type { NewRecipient } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { headerList } from './headers.js';
import { receiveInto } from './receive.js';
import { receivedLine } from './received.js';
import { reply, type SmtpReply, verdictReply } from './reply.js';
import type { TxState } from './session.js';

export interface DataPhaseDeps {
  readonly config: Config;
  readonly hostname: string;
  readonly host: PluginHost;
  readonly spool: Spool;
  readonly committer: Committer;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** What the data and queue hooks decided (present once they ran). */
export type DataDecision = Awaited<ReturnType<PluginHost['message']>>;

/** The outcome of the DATA phase: a reply error, or the 250 text; with the hooks' decision when they ran. */
export type DataResult = ({ ok: true; text: string } | { ok: false; reply: SmtpReply }) & {
  decision?: DataDecision;
};

function toRecipient(address: string, o: RecipientOutcome | undefined): NewRecipient {
  if (!o || o.kind === 'deliver') return { address, state: 'active' };
  return { address, state: o.kind === 'hold' ? 'hold' : 'discarded', reason: o.reason };
}

const LOCAL_ERROR = (): SmtpReply => reply(451, '4.3.0', 'Local error in processing, try again later');
const DEADLINE = (): SmtpReply => reply(421, '4.4.2', 'Timeout in DATA phase, closing connection');

/**
 * Runs the DATA phase for one transaction. `aborted()` turns true when the
 * DATA deadline fired (the connection was already answered and closed).
 */
export async function runDataPhase(
  deps: DataPhaseDeps,
  stream: Readable & { sizeExceeded?: boolean },
  session: SessionInfo,
  esmtp: boolean,
  tx: TxState,
  aborted: () => boolean,
): Promise<DataResult> {
  const { config, log, metrics } = deps;
  const base = { queue_id: tx.queueId, from: tx.from, session: session.id, client: session.remoteAddress };
  let writer: SpoolWriter | undefined;
  let decided: { decision?: DataDecision } = {};
  const fail = async (r: SmtpReply, result: string, why: string): Promise<DataResult> => {
    await writer?.abort();
    metrics.messages.inc({ result });
    log.info({ ...base, to: tx.to, status: result, reason: why }, `message ${result}: ${why}`);
    return { ok: false, reply: r, ...decided };
  };
  try {
    writer = await deps.spool.create(tx.queueId);
    const prefix = config.smtp.received_header
      ? Buffer.from(
          receivedLine({
            helo: session.helo,
            clientHostname: session.clientHostname,
            remoteAddress: session.remoteAddress,
            hostname: deps.hostname,
            esmtp,
            tls: session.tls,
            auth: session.user !== undefined,
            queueId: tx.queueId,
            recipients: tx.to,
            date: new Date(deps.clock.now()),
          }),
        )
      : undefined;
    const got = await receiveInto(stream, writer, prefix);
    if (aborted()) return await fail(DEADLINE(), 'tempfail', 'DATA deadline');
    if (stream.sizeExceeded) {
      return await fail(
        reply(552, '5.3.4', `Message too big (limit ${config.smtp.max_message_size} octets)`),
        'rejected',
        'message too big',
      );
    }
    if (got.bareNewline && config.smtp.bare_newlines === 'reject') {
      return await fail(
        reply(550, '5.5.2', 'Bare LF or bare CR in message, lines must end in CRLF'),
        'rejected',
        'bare newline',
      );
    }
    const receivedCount = got.headers.filter((h) => h.name.toLowerCase() === 'received').length;
    if (receivedCount > config.smtp.max_received_headers) {
      return await fail(
        reply(554, '5.4.6', `Too many Received headers (${receivedCount}): mail loop`),
        'rejected',
        'mail loop',
      );
    }
    await writer.finish();
    const spooled = writer;
    const mtx: MessageTransaction = {
      queueId: tx.queueId,
      session,
      from: tx.from,
      to: [...tx.to],
      results: tx.results.view('core'),
      headers: headerList(got.headers),
      size: got.size,
      openMessage: () => spooled.open(),
    };
    const decision = await deps.host.message(mtx, tx.results);
    decided = { decision };
    if (aborted()) return await fail(DEADLINE(), 'tempfail', 'DATA deadline');
    if (decision.kind === 'tempfail' || (decision.kind === 'reject' && !decision.hold)) {
      return await fail(
        verdictReply(decision),
        decision.kind === 'reject' ? 'rejected' : 'tempfail',
        'plugin verdict',
      );
    }
    const recipients: NewRecipient[] =
      decision.kind === 'reject'
        ? tx.to.map((address) => ({ address, state: 'hold', reason: decision.hold?.reason ?? 'held' }))
        : tx.to.map((address) => toRecipient(address, decision.outcomes.get(address)));
    await deps.committer.commit(writer, {
      queueId: tx.queueId,
      arrivalTime: tx.startedAt,
      sender: tx.from,
      size: got.size,
      clientAddress: session.remoteAddress,
      clientHelo: session.helo ?? '',
      authUser: session.user ?? '',
      origin: 'smtp',
      results: tx.results.all(),
      trace: tx.results.trace,
      recipients,
    });
    const held = recipients.filter((r) => r.state === 'hold').length;
    const status = decision.kind === 'reject' ? 'held-rejected' : held ? 'held' : 'queued';
    metrics.messages.inc({ result: decision.kind === 'reject' ? 'held' : held ? 'held' : 'queued' });
    log.info(
      {
        ...base,
        to: recipients.map((r) => `${r.address}:${r.state}`),
        size: got.size,
        nrcpt: recipients.length,
        status,
      },
      `message ${status}`,
    );
    if (decision.kind === 'reject') return { ok: false, reply: verdictReply(decision), decision };
    return { ok: true, text: `2.0.0 Ok: queued as ${tx.queueId}`, decision };
  } catch (err) {
    log.error({ ...base, err }, 'could not accept message');
    return await fail(LOCAL_ERROR(), 'tempfail', `local error: ${(err as Error).message}`);
  }
}
