/**
 * smtp/session.ts — per-connection and per-transaction state kept by ingress.
 *
 * smtp-server's session object is the library's; ours hangs off it by session
 * id: the SessionInfo plugins see, the open transaction, HELO-hook memory.
 * Pure data and conversions; no SMTP logic.
 */
import type { SMTPServerSession } from 'smtp-server';
import type { SessionInfo, Transaction } from '../plugin/api.js';
import { ResultsStore } from '../plugin/results.js';
import type { SmtpReply } from './reply.js';
import type { NetworkList } from '../util/networks.js';

/** An open mail transaction (MAIL FROM until the end of DATA). */
export interface TxState {
  readonly queueId: string;
  readonly from: string;
  readonly to: string[];
  readonly results: ResultsStore;
  readonly startedAt: number;
}

/** What ingress keeps per connection. */
export interface ConnState {
  /** The HELO name whose hooks already ran, if any. */
  heloChecked: string | undefined;
  heloVerdictReply: SmtpReply | undefined;
  tx: TxState | undefined;
  readonly openedAt: number;
}

/** Builds the plugin-facing view of a library session. */
export function sessionInfo(s: SMTPServerSession, relay: NetworkList): SessionInfo {
  const user = typeof s.user === 'string' ? s.user : undefined;
  return {
    id: s.id,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    clientHostname: s.clientHostname || `[${s.remoteAddress}]`,
    localAddress: s.localAddress,
    localPort: s.localPort,
    helo: s.hostNameAppearsAs || undefined,
    tls: s.secure,
    user,
    trustedNetwork: relay.has(s.remoteAddress),
  };
}

/** Starts a transaction. */
export function newTx(queueId: string, from: string, now: number): TxState {
  return { queueId, from, to: [], results: new ResultsStore(), startedAt: now };
}

/** The plugin-facing view of a transaction (results are filled per plugin by the host). */
export function txView(tx: TxState, session: SessionInfo): Transaction {
  return { queueId: tx.queueId, session, from: tx.from, to: [...tx.to], results: tx.results.view('core') };
}
