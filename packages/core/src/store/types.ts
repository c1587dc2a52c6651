/**
 * store/types.ts — the queue store contract.
 *
 * The store is the contract between receiving and delivering (as in Postfix):
 * ingress commits a message with a state per recipient, delivery claims due
 * recipients and records what happened. States use Postfix's words: active,
 * deferred, hold; and the final ones: delivered, bounced, discarded. The local
 * SQLite store implements it (store/sqlite.ts); PostgreSQL will too.
 */
import type { ResultRecord } from '../plugin/api.js';
import type { TraceEntry } from '../plugin/results.js';

export type RecipientState = 'active' | 'deferred' | 'hold' | 'delivered' | 'bounced' | 'discarded';
export const RECIPIENT_STATES: readonly RecipientState[] = [
  'active',
  'deferred',
  'hold',
  'delivered',
  'bounced',
  'discarded',
];
/** States in which a recipient still waits for something. */
export const PENDING_STATES: readonly RecipientState[] = ['active', 'deferred', 'hold'];

/** A recipient of a message being committed. */
export interface NewRecipient {
  readonly address: string;
  readonly state: 'active' | 'hold' | 'discarded';
  readonly reason?: string;
}

/** A message being committed. Its body must already be in the spool. */
export interface NewMessage {
  readonly queueId: string;
  readonly arrivalTime: number;
  readonly sender: string;
  readonly size: number;
  readonly clientAddress: string;
  readonly clientHelo: string;
  readonly authUser: string;
  /** "smtp" for mail received, or the plugin that submitted it. */
  readonly origin: string;
  readonly results: readonly ResultRecord[];
  readonly trace: readonly TraceEntry[];
  readonly recipients: readonly NewRecipient[];
  /**
   * When set, the active recipients are committed already leased until then
   * and {@link QueueStore.commit} returns them as a claim: the hand-off from
   * receiving to a delivery slot kept free for the message, without a claim
   * query. A crash before delivery is covered as for any lease.
   */
  readonly leaseUntil?: number;
  /**
   * The body, stored with the records in the same transaction instead of in
   * a spool file (see Spool.attachInline); absent when it is a spool file.
   */
  readonly body?: Buffer;
}

/** A claimed recipient, to be delivered. */
export interface ClaimedRecipient {
  readonly id: number;
  readonly address: string;
  readonly attempts: number;
  /** When a delay warning was queued for this recipient; 0 or absent: none yet. */
  readonly delayWarnedAt?: number;
}

/** A claimed message with the recipients due now. */
export interface Claim {
  readonly queueId: string;
  readonly sender: string;
  readonly size: number;
  readonly arrivalTime: number;
  readonly recipients: readonly ClaimedRecipient[];
}

/** What a delivery attempt did to one recipient. */
export interface RecipientUpdate {
  readonly id: number;
  readonly state: RecipientState;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly delayReason: string;
  readonly relay: string;
  readonly dsn: string;
  /** Set when a delay warning was queued for the recipient in this attempt (left unchanged when absent). */
  readonly delayWarnedAt?: number;
}

/** One recipient as listings show it (postqueue -j field names where they exist). */
export interface RecipientRecord {
  readonly id: number;
  readonly address: string;
  readonly state: RecipientState;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly delay_reason: string;
  readonly relay: string;
  readonly dsn: string;
  readonly updated_at: number;
}

/** A message as listings show it. */
export interface MessageRecord {
  readonly queue_id: string;
  readonly arrival_time: number;
  readonly sender: string;
  readonly message_size: number;
  readonly client_address: string;
  readonly client_helo: string;
  readonly auth_user: string;
  readonly origin: string;
  readonly recipients: readonly RecipientRecord[];
}

/** A message with its results and trace (for explain). */
export interface MessageDetail extends MessageRecord {
  readonly results: readonly ResultRecord[];
  readonly trace: readonly TraceEntry[];
}

export interface QueueStore {
  /** Creates tables or migrates them. */
  init(): Promise<void>;
  /**
   * Records a message whose body is committed in the spool. Durable when it
   * resolves. With `message.leaseUntil`, resolves to the claim of its active
   * recipients (undefined when it has none).
   */
  commit(message: NewMessage): Promise<Claim | undefined>;
  /** Claims up to `limit` messages with recipients due at `now`, leasing them until now+leaseMs. */
  claim(now: number, limit: number, leaseMs: number): Promise<Claim[]>;
  /**
   * Records delivery results (and clears the lease). A `deferred` result is
   * not written over a recipient that left active/deferred meanwhile (an
   * operator's hold wins over a retry); delivered and bounced are facts and
   * are always written. Durable when it resolves; with `sync: false` only
   * written, and durable with the next commit, before anything written after
   * it (for a message whose body is stored with its records: losing the
   * result in a crash means a duplicate delivery, never a lost body).
   */
  update(updates: readonly RecipientUpdate[], now: number, opts?: { sync?: boolean }): Promise<void>;
  /**
   * Deletes the records of finished messages (every recipient delivered,
   * bounced or discarded) that have not changed since `before`, oldest first,
   * looking at up to `limit` messages per call and going on where the last
   * call stopped. `more` is false once it has looked at every message that
   * arrived before `before` (the next call starts from the oldest again).
   */
  purgeFinished(before: number, limit: number): Promise<{ deleted: number; more: boolean }>;
  /**
   * Gives up to `maxBytes` of free database space back to the file system
   * when more than `slackBytes` are free (space of bodies and records
   * deleted), in whole pages; returns the bytes given back. 0 for a database
   * made before incremental vacuum was on.
   */
  compact(slackBytes: number, maxBytes: number): Promise<number>;
  /** The current state of each recipient of a message (empty when the message was deleted). */
  states(queueId: string): Promise<Map<number, RecipientState>>;
  /** The earliest next_attempt_at among pending active/deferred recipients. */
  nextDue(): Promise<number | undefined>;
  /** Messages that still have recipients in the given states (default: pending ones). */
  list(states?: readonly RecipientState[]): Promise<MessageRecord[]>;
  get(queueId: string): Promise<MessageDetail | undefined>;
  /** Number of recipients in each state. */
  counts(): Promise<Record<RecipientState, number>>;
  /** True when no recipient of the message is pending any more. */
  isFinished(queueId: string): Promise<boolean>;
  /** Queue ids of messages with pending recipients (for the spool check at start-up). */
  pendingIds(): Promise<string[]>;
  /** Marks every pending recipient of a message bounced with a reason (corrupt spool entries). */
  fail(queueId: string, reason: string, now: number): Promise<void>;
  /**
   * Clears delivery leases left by a process that died mid-delivery. Called
   * at start-up; the embedded store has one process per directory, so every
   * lease found then is stale.
   */
  releaseLeases(): Promise<number>;
  /** Moves a message's recipients (all, or those named) from one state to another; returns how many moved. */
  move(
    queueId: string,
    from: readonly RecipientState[],
    to: RecipientState,
    now: number,
    recipients?: readonly string[],
  ): Promise<number>;
  close(): Promise<void>;
  /**
   * Makes deferred recipients due at `now` (of one message, or of all when
   * `queueId` is undefined); a running instance claims them on its next poll.
   * Returns how many were waiting for a later attempt.
   */
  flush(queueId: string | undefined, now: number): Promise<number>;
  /**
   * Deletes a message's records (its recipients, then the message) for
   * `queue delete`. The spool body is the caller's to remove, unless
   * `inFlight` says a delivery holds a lease on it at `now`: the delivery then
   * still reads it and removes it when the attempt ends. Undefined when there
   * is no such message.
   */
  remove(queueId: string, now: number): Promise<RemovedMessage | undefined>;
}

/** What {@link QueueStore.remove} deleted. */
export interface RemovedMessage {
  /** Recipients the message had (in any state). */
  readonly recipients: number;
  /** Of those, still pending (active, deferred, hold). */
  readonly pending: number;
  /** True when a delivery of the message held a lease at the time. */
  readonly inFlight: boolean;
}
