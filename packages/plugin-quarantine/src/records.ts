/**
 * records.ts — the quarantine's queries: held messages, senders, recipients,
 * sender notices and history, addresses that unsubscribed, through Kysely.
 *
 * Portable SQL: the same queries run on SQLite, PostgreSQL and MySQL, except
 * where MySQL must differ (`ON DUPLICATE KEY UPDATE` for `ON CONFLICT`, no
 * `RETURNING`): those few statements branch on the dialect. LIKE patterns
 * escape with '!' (not backslash, which MySQL's string literals treat
 * specially). Rows are keyed by lower-cased addresses; comparisons are exact
 * on every dialect (db.ts). It decides nothing: decide.ts does, and
 * service.ts acts. Counters are updated with single UPDATE statements so
 * concurrent transactions do not lose counts.
 */
import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type Selectable,
  type SqlBool,
  sql,
} from 'kysely';
import type { Dialect, HeldTable, QuarantineDatabase, RecipientTable, SenderTable } from './db.js';
import { isDuplicateKey, keepExisting } from './sql.js';

export type HeldRow = Selectable<HeldTable>;
export type SenderRow = Selectable<SenderTable>;
export type RecipientRow = Selectable<RecipientTable>;

export type SenderAction = 'quarantine' | 'discard' | 'bounce';
export type RecipientAction = 'hold' | 'drop' | 'redirect';
export type HeldState = 'held' | 'released' | 'discarded' | 'expired';
/** How an address unsubscribed from page-requested mail. */
export type UnsubscribeVia = 'one-click' | 'form' | 'operator';

export const SENDER_ACTIONS: readonly SenderAction[] = ['quarantine', 'discard', 'bounce'];
export const RECIPIENT_ACTIONS: readonly RecipientAction[] = ['hold', 'drop', 'redirect'];

/** A sender's preferences (defaults when there is no record). */
export interface SenderPrefs {
  readonly address: string;
  readonly action: SenderAction;
  /** Days between notifications from one IP; null: the configured default. */
  readonly renotifyDays: number | null;
  readonly spamCount: number;
  readonly discardedCount: number;
  readonly known: boolean;
}

/** A recipient's preferences (defaults when there is no record). */
export interface RecipientPrefs {
  readonly address: string;
  readonly action: RecipientAction;
  readonly redirectTo: string | null;
  readonly spamCount: number;
  readonly heldSinceNotice: number;
  readonly lastNotifiedAt: number;
  readonly known: boolean;
}

/** An address that unsubscribed from the mail pages send on request (see db.ts UnsubscribedTable). */
export interface Unsubscribed {
  readonly address: string;
  readonly at: number;
  readonly via: UnsubscribeVia;
}

/** What is recorded about a newly held message. */
export type NewHeld = Omit<HeldRow, 'state' | 'state_at' | 'free_passes'>;

/** Filters for {@link Records.listHeld}. */
export interface HeldFilter {
  readonly sender?: string;
  readonly recipient?: string;
  readonly state?: HeldState | 'any';
  readonly limit?: number;
  readonly offset?: number;
}

/** Lower-cases an address (the key of sender and recipient rows). */
export const key = (address: string): string => address.trim().toLowerCase();

/** A LIKE pattern (with `escape '!'`) matching text that contains `part`, wildcards in `part` escaped. */
export function containsPattern(part: string): string {
  return `%${part.replace(/[!%_]/g, '!$&')}%`;
}

/** The WHERE of held-message listings: state (default held), sender, recipient. */
function heldFilter(
  eb: ExpressionBuilder<QuarantineDatabase, 'quarantine_held'>,
  f: Omit<HeldFilter, 'limit' | 'offset'>,
): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = [];
  const state = f.state ?? 'held';
  if (state !== 'any') parts.push(eb('state', '=', state));
  if (f.sender !== undefined) parts.push(eb('sender_key', '=', key(f.sender)));
  if (f.recipient !== undefined) {
    // Recipients are a JSON array of lower-cased quoted addresses: match the quoted form,
    // with LIKE's wildcards (an address may hold "_" or "%") escaped.
    parts.push(sql<SqlBool>`recipients like ${containsPattern(JSON.stringify(key(f.recipient)))} escape '!'`);
  }
  return eb.and(parts);
}

export class Records {
  constructor(
    readonly db: Kysely<QuarantineDatabase>,
    readonly dialect: Dialect,
  ) {}

  // --- held messages -------------------------------------------------------

  async addHeld(row: NewHeld, now: number): Promise<void> {
    await this.db
      .insertInto('quarantine_held')
      .values({ ...row, state: 'held', state_at: now, free_passes: 0 })
      .execute();
  }

  async getHeld(queueId: string): Promise<HeldRow | undefined> {
    return this.db
      .selectFrom('quarantine_held')
      .selectAll()
      .where('queue_id', '=', queueId)
      .executeTakeFirst();
  }

  async listHeld(f: HeldFilter = {}): Promise<HeldRow[]> {
    return this.db
      .selectFrom('quarantine_held')
      .selectAll()
      .where((eb) => heldFilter(eb, f))
      .orderBy('created_at', 'desc')
      .orderBy('queue_id', 'desc')
      .limit(f.limit ?? 100)
      .offset(f.offset ?? 0)
      .execute();
  }

  async countHeld(f: Omit<HeldFilter, 'limit' | 'offset'> = {}): Promise<number> {
    const r = await this.db
      .selectFrom('quarantine_held')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => heldFilter(eb, f))
      .executeTakeFirst();
    return r?.n ?? 0;
  }

  /** Moves a held message to a final state; false when it was not held (someone else acted first). */
  async setHeldState(queueId: string, state: Exclude<HeldState, 'held'>, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('quarantine_held')
      .set({ state, state_at: now })
      .where('queue_id', '=', queueId)
      .where('state', '=', 'held')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Takes one free pass of a held message; false when none is left. */
  async takeFreePass(queueId: string, max: number): Promise<boolean> {
    const r = await this.db
      .updateTable('quarantine_held')
      .set((eb) => ({ free_passes: eb('free_passes', '+', 1) }))
      .where('queue_id', '=', queueId)
      .where('free_passes', '<', max)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Held messages created before `before`, oldest first. */
  async heldOlderThan(before: number, limit: number): Promise<HeldRow[]> {
    return this.db
      .selectFrom('quarantine_held')
      .selectAll()
      .where('state', '=', 'held')
      .where('created_at', '<', before)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /** Total size of held messages and the held ones oldest first (for the size limit). */
  async heldBytes(): Promise<number> {
    const r = await this.db
      .selectFrom('quarantine_held')
      .select((eb) => eb.fn.sum<number>('size').as('n'))
      .where('state', '=', 'held')
      .executeTakeFirst();
    return r?.n ?? 0;
  }

  /** Forgets records of messages that left the quarantine before `before`. */
  async purgeFinished(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom('quarantine_held')
      .where('state', '!=', 'held')
      .where('state_at', '<', before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // --- senders -------------------------------------------------------------

  async sender(address: string): Promise<SenderPrefs> {
    const k = key(address);
    const row = await this.db
      .selectFrom('quarantine_senders')
      .selectAll()
      .where('address', '=', k)
      .executeTakeFirst();
    return {
      address: k,
      action: (row?.action ?? 'quarantine') as SenderAction,
      renotifyDays: row?.renotify_days ?? null,
      spamCount: row?.spam_count ?? 0,
      discardedCount: row?.discarded_count ?? 0,
      known: row !== undefined,
    };
  }

  private async ensureSender(k: string, now: number): Promise<void> {
    await this.db
      .insertInto('quarantine_senders')
      .values({
        address: k,
        action: 'quarantine',
        renotify_days: null,
        spam_count: 0,
        discarded_count: 0,
        first_seen: now,
        last_seen: now,
      })
      .$call(keepExisting(this.dialect, 'address'))
      .execute();
  }

  /** Counts a spammy message from a sender; `discarded` also counts it as discarded by choice. */
  async countSenderSpam(address: string, now: number, discarded: boolean): Promise<void> {
    const k = key(address);
    await this.ensureSender(k, now);
    await this.db
      .updateTable('quarantine_senders')
      .set((eb) => ({
        spam_count: eb('spam_count', '+', 1),
        discarded_count: eb('discarded_count', '+', discarded ? 1 : 0),
        last_seen: now,
      }))
      .where('address', '=', k)
      .execute();
  }

  async setSender(
    address: string,
    prefs: { action?: SenderAction; renotifyDays?: number | null },
    now: number,
  ): Promise<SenderPrefs> {
    const k = key(address);
    await this.ensureSender(k, now);
    await this.db
      .updateTable('quarantine_senders')
      .set({
        ...(prefs.action === undefined ? {} : { action: prefs.action }),
        ...(prefs.renotifyDays === undefined ? {} : { renotify_days: prefs.renotifyDays }),
        last_seen: now,
      })
      .where('address', '=', k)
      .execute();
    return this.sender(k);
  }

  /** When the sender was last told from this IP (0: never). */
  async senderNotifiedAt(address: string, ip: string): Promise<number> {
    const row = await this.db
      .selectFrom('quarantine_sender_notices')
      .select('notified_at')
      .where('address', '=', key(address))
      .where('ip', '=', ip)
      .executeTakeFirst();
    return row?.notified_at ?? 0;
  }

  async setSenderNotified(address: string, ip: string, now: number): Promise<void> {
    await this.db
      .insertInto('quarantine_sender_notices')
      .values({ address: key(address), ip, notified_at: now })
      .$call((q) =>
        this.dialect === 'mysql'
          ? q.onDuplicateKeyUpdate({ notified_at: now })
          : q.onConflict((oc) => oc.columns(['address', 'ip']).doUpdateSet({ notified_at: now })),
      )
      .execute();
  }

  // --- recipients ----------------------------------------------------------

  async recipient(address: string): Promise<RecipientPrefs> {
    const k = key(address);
    const row = await this.db
      .selectFrom('quarantine_recipients')
      .selectAll()
      .where('address', '=', k)
      .executeTakeFirst();
    return {
      address: k,
      action: (row?.action ?? 'hold') as RecipientAction,
      redirectTo: row?.redirect_to ?? null,
      spamCount: row?.spam_count ?? 0,
      heldSinceNotice: row?.held_since_notice ?? 0,
      lastNotifiedAt: row?.last_notified_at ?? 0,
      known: row !== undefined,
    };
  }

  private async ensureRecipient(k: string, now: number): Promise<void> {
    await this.db
      .insertInto('quarantine_recipients')
      .values({
        address: k,
        action: 'hold',
        redirect_to: null,
        spam_count: 0,
        held_since_notice: 0,
        last_notified_at: 0,
        first_seen: now,
        last_seen: now,
      })
      .$call(keepExisting(this.dialect, 'address'))
      .execute();
  }

  /** Counts a spammy message to a recipient; `held` also counts it toward the next letter. */
  async countRecipientSpam(address: string, now: number, held: boolean): Promise<void> {
    const k = key(address);
    await this.ensureRecipient(k, now);
    await this.db
      .updateTable('quarantine_recipients')
      .set((eb) => ({
        spam_count: eb('spam_count', '+', 1),
        held_since_notice: eb('held_since_notice', '+', held ? 1 : 0),
        last_seen: now,
      }))
      .where('address', '=', k)
      .execute();
  }

  async setRecipient(
    address: string,
    prefs: { action?: RecipientAction; redirectTo?: string | null },
    now: number,
  ): Promise<RecipientPrefs> {
    const k = key(address);
    await this.ensureRecipient(k, now);
    await this.db
      .updateTable('quarantine_recipients')
      .set({
        ...(prefs.action === undefined ? {} : { action: prefs.action }),
        ...(prefs.redirectTo === undefined ? {} : { redirect_to: prefs.redirectTo }),
        last_seen: now,
      })
      .where('address', '=', k)
      .execute();
    return this.recipient(k);
  }

  /**
   * Claims the right to send a recipient letter: succeeds (once) when mail was
   * held since the last letter and the interval has passed.
   */
  async claimRecipientNotice(address: string, now: number, intervalMs: number): Promise<boolean> {
    const r = await this.db
      .updateTable('quarantine_recipients')
      .set({ last_notified_at: now, held_since_notice: 0 })
      .where('address', '=', key(address))
      .where('held_since_notice', '>', 0)
      .where('last_notified_at', '<=', now - intervalMs)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Recipients with mail held since their last letter, whose interval has passed. */
  async recipientsDue(now: number, intervalMs: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('quarantine_recipients')
      .select('address')
      .where('held_since_notice', '>', 0)
      .where('last_notified_at', '<=', now - intervalMs)
      .where('action', '=', 'hold')
      .limit(limit)
      .execute();
    return rows.map((r) => r.address);
  }

  // --- addresses that unsubscribed from page-requested mail -------------------

  async unsubscribed(address: string): Promise<Unsubscribed | undefined> {
    const row = await this.db
      .selectFrom('quarantine_unsubscribed')
      .selectAll()
      .where('address', '=', key(address))
      .executeTakeFirst();
    return row && { address: row.address, at: row.at, via: row.via as UnsubscribeVia };
  }

  /** Records the unsubscription; false when the address already was (the first record stays). */
  async addUnsubscribed(address: string, via: UnsubscribeVia, now: number): Promise<boolean> {
    if (this.dialect === 'mysql') {
      // No RETURNING, and ON DUPLICATE KEY UPDATE counts a kept row as affected (FOUND_ROWS):
      // a plain INSERT tells by its duplicate-key error (INSERT IGNORE would also hide other errors).
      try {
        await this.db
          .insertInto('quarantine_unsubscribed')
          .values({ address: key(address), at: now, via })
          .execute();
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    }
    const rows = await this.db
      .insertInto('quarantine_unsubscribed')
      .values({ address: key(address), at: now, via })
      .onConflict((oc) => oc.column('address').doNothing())
      .returning('address')
      .execute();
    return rows.length === 1;
  }

  /** Forgets the unsubscription; false when there was none. */
  async removeUnsubscribed(address: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('quarantine_unsubscribed')
      .where('address', '=', key(address))
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  // --- look-up (the admin page) ---------------------------------------------

  /** The sender's whole row (counters and dates), or undefined. */
  async senderRow(address: string): Promise<SenderRow | undefined> {
    return this.db
      .selectFrom('quarantine_senders')
      .selectAll()
      .where('address', '=', key(address))
      .executeTakeFirst();
  }

  /** The recipient's whole row (counters and dates), or undefined. */
  async recipientRow(address: string): Promise<RecipientRow | undefined> {
    return this.db
      .selectFrom('quarantine_recipients')
      .selectAll()
      .where('address', '=', key(address))
      .executeTakeFirst();
  }

  /** Senders whose address contains `part` (case-insensitive), by address, at most `limit`. */
  async findSenders(part: string, limit: number): Promise<SenderRow[]> {
    return this.db
      .selectFrom('quarantine_senders')
      .selectAll()
      .where(sql<SqlBool>`address like ${containsPattern(key(part))} escape '!'`)
      .orderBy('address')
      .limit(limit)
      .execute();
  }

  /** Recipients whose address contains `part` (case-insensitive), by address, at most `limit`. */
  async findRecipients(part: string, limit: number): Promise<RecipientRow[]> {
    return this.db
      .selectFrom('quarantine_recipients')
      .selectAll()
      .where(sql<SqlBool>`address like ${containsPattern(key(part))} escape '!'`)
      .orderBy('address')
      .limit(limit)
      .execute();
  }

  /** When the sender was last told, per sending IP, newest first. */
  async senderNotices(address: string, limit: number): Promise<{ ip: string; notified_at: number }[]> {
    return this.db
      .selectFrom('quarantine_sender_notices')
      .select(['ip', 'notified_at'])
      .where('address', '=', key(address))
      .orderBy('notified_at', 'desc')
      .limit(limit)
      .execute();
  }

  // --- history and expiry -----------------------------------------------------

  async addEvents(
    rows: readonly {
      at: number;
      queue_id: string;
      sender: string;
      recipient: string;
      ip: string;
      outcome: string;
    }[],
  ): Promise<void> {
    if (rows.length)
      await this.db
        .insertInto('quarantine_events')
        .values([...rows])
        .execute();
  }

  async trimEvents(before: number): Promise<number> {
    const r = await this.db.deleteFrom('quarantine_events').where('at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Senders with at least `min` spammy messages in the history kept, most first. */
  async heavySenders(min: number, limit = 50): Promise<{ sender: string; count: number }[]> {
    const rows = await this.db
      .selectFrom('quarantine_events')
      .select(['sender', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('sender')
      .having((eb) => eb.fn.countAll(), '>=', min)
      .orderBy(sql`count(*)`, 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ sender: r.sender, count: r.count }));
  }

  /** Forgets sender and recipient records (and their tokens' subjects stay unusable) idle since `before`. */
  async forgetIdle(before: number): Promise<{ senders: string[]; recipients: string[] }> {
    if (this.dialect === 'mysql') return this.forgetIdleMysql(before);
    const senders = await this.db
      .deleteFrom('quarantine_senders')
      .where('last_seen', '<', before)
      .returning('address')
      .execute();
    const recipients = await this.db
      .deleteFrom('quarantine_recipients')
      .where('last_seen', '<', before)
      .returning('address')
      .execute();
    await this.db.deleteFrom('quarantine_sender_notices').where('notified_at', '<', before).execute();
    return { senders: senders.map((r) => r.address), recipients: recipients.map((r) => r.address) };
  }

  /**
   * forgetIdle without RETURNING: in batches, each a transaction that locks
   * the idle rows (FOR UPDATE), deletes exactly those and reports them, so an
   * address seen again meanwhile is neither deleted nor reported.
   */
  private async forgetIdleMysql(before: number): Promise<{ senders: string[]; recipients: string[] }> {
    const batch = 500;
    const forget = async (table: 'quarantine_senders' | 'quarantine_recipients'): Promise<string[]> => {
      const gone: string[] = [];
      for (;;) {
        const done = await this.db.transaction().execute(async (trx) => {
          const rows = await trx
            .selectFrom(table)
            .select('address')
            .where('last_seen', '<', before)
            .orderBy('address')
            .limit(batch)
            .forUpdate()
            .execute();
          const addresses = rows.map((r) => r.address);
          if (addresses.length) await trx.deleteFrom(table).where('address', 'in', addresses).execute();
          gone.push(...addresses);
          return addresses.length < batch;
        });
        if (done) return gone;
      }
    };
    const senders = await forget('quarantine_senders');
    const recipients = await forget('quarantine_recipients');
    await this.db.deleteFrom('quarantine_sender_notices').where('notified_at', '<', before).execute();
    return { senders, recipients };
  }
}
