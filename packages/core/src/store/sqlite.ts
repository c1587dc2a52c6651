/**
 * store/sqlite.ts — the embedded queue store: SQLite through Kysely.
 *
 * better-sqlite3 in WAL mode with synchronous=FULL, so a commit is on disk
 * when it returns (the 250 after DATA waits for it). Bodies live in the spool
 * (store/spool.ts), not here. Queries use only what PostgreSQL also has.
 */
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type Generated, Kysely, Migrator, SqliteDialect } from 'kysely';
import { SmartholdError } from '../errors.js';
import type { ResultRecord } from '../plugin/api.js';
import type { TraceEntry } from '../plugin/results.js';
import { queueMigrations } from './migrations.js';
import { HotPath, type InlineBodies } from './sqlite-hot.js';
import {
  type Claim,
  type MessageDetail,
  type MessageRecord,
  type NewMessage,
  PENDING_STATES,
  type QueueStore,
  RECIPIENT_STATES,
  type RecipientRecord,
  type RecipientState,
  type RecipientUpdate,
  type RemovedMessage,
} from './types.js';

interface MessagesTable {
  queue_id: string;
  arrival_time: number;
  sender: string;
  size: number;
  client_address: string;
  client_helo: string;
  auth_user: string;
  origin: string;
  results: string;
  trace: string;
}
interface RecipientsTable {
  id: Generated<number>;
  queue_id: string;
  address: string;
  state: RecipientState;
  attempts: number;
  next_attempt_at: number;
  lease_until: number;
  delay_reason: string;
  relay: string;
  dsn: string;
  updated_at: number;
  /** Migration 002: when a delay warning was queued (0: none). */
  delay_warned_at: Generated<number>;
}
/** The queue tables as Kysely sees them. */
export interface QueueDatabase {
  messages: MessagesTable;
  recipients: RecipientsTable;
}

const DUE_STATES: RecipientState[] = ['active', 'deferred'];

/** Opens (creating if needed) the SQLite database file with smarthold's settings. */
export function openSqlite(file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  // Both only take effect in a new database (before its first table and WAL). 8 KB pages:
  // SQLite writes its log a whole page at a time. With 4 KB pages a 100 KB body stored with its
  // records took 26 page writes and with 16 KB pages 7, for a quarter less CPU per message; but
  // every small change also writes a whole page, and a 5 KB message touches about seven
  // (message, body, recipients, their indexes), so 16 KB pages made the disk write ~130 KB per
  // 5 KB message against ~50 KB with 4 KB pages. 8 KB pages measured as fast as 16 KB at both
  // sizes with 35-45 % fewer bytes written at 5 KB (bench/NOTES.md, 2026-12-03, evening).
  // Incremental vacuum lets compact() give the space of bodies stored here back to the file
  // system after a backlog (see retention.ts).
  db.pragma('page_size = 8192');
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

export class SqliteQueueStore implements QueueStore {
  readonly db: Kysely<QueueDatabase>;
  readonly sqlite: Database.Database;
  /** Prepared statements and group commit for the per-message queries; set by init(). */
  private hotPath: HotPath | undefined;

  /** Where purgeFinished() goes on from: the last queue id it looked at ('' for the oldest). */
  private purgedUpTo = '';

  /** The WAL file's descriptor, for fdatasync off the event loop (see sqlite-hot.ts). */
  private walFd: number | undefined;

  constructor(private readonly file: string) {
    this.sqlite = openSqlite(file);
    this.db = new Kysely<QueueDatabase>({ dialect: new SqliteDialect({ database: this.sqlite }) });
  }

  async init(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: queueMigrations('sqlite') });
    const { error } = await migrator.migrateToLatest();
    if (error) {
      // Kysely reports whatever the migration threw (normally an Error, shown as "Error: message").
      const what = error instanceof Error ? String(error) : JSON.stringify(error);
      throw new SmartholdError('SMARTHOLD_STORE_WRITE', `queue database migration failed: ${what}`, {
        cause: error,
      });
    }
    this.hotPath = new HotPath(this.sqlite, this.openWalSync());
  }

  /**
   * Opens the WAL file (created by the migrations' writes) for fsync on the
   * thread pool, after making its directory entry durable. Undefined (every
   * transaction then fsyncs inside SQLite) when it cannot be opened.
   */
  private openWalSync(): (() => Promise<void>) | undefined {
    try {
      this.walFd = openSync(`${this.file}-wal`, 'r');
      const dir = openSync(path.dirname(this.file), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch {
      return undefined;
    }
    const fd = this.walFd;
    return () =>
      new Promise<void>((resolve, reject) => {
        // fdatasync, as SQLite itself syncs on Linux: the WAL's bytes and size, not its times.
        fdatasync(fd, (err) => {
          if (err) reject(err);
          else resolve();
        });
      });
  }

  /** Bodies stored with their messages, for Spool.attachInline (after init()). */
  get inlineBodies(): InlineBodies {
    return this.hot.inline;
  }

  private get hot(): HotPath {
    if (!this.hotPath) throw new Error('SqliteQueueStore: init() first');
    return this.hotPath;
  }

  async commit(m: NewMessage): Promise<Claim | undefined> {
    const ids = await this.hot.commit(m);
    if (m.leaseUntil === undefined) return undefined;
    const recipients = m.recipients.flatMap((r, i) =>
      r.state === 'active' ? [{ id: ids[i] as number, address: r.address, attempts: 0 }] : [],
    );
    if (!recipients.length) return undefined;
    return { queueId: m.queueId, sender: m.sender, size: m.size, arrivalTime: m.arrivalTime, recipients };
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<Claim[]> {
    type Built = Claim & {
      recipients: { id: number; address: string; attempts: number; delayWarnedAt: number }[];
    };
    let claims: Built[] = [];
    await this.hot.claim(
      now,
      limit * 50,
      (due) => {
        const byMessage = new Map<string, Built>();
        for (const r of due) {
          let c = byMessage.get(r.queue_id);
          if (!c) {
            if (byMessage.size >= limit) continue;
            c = {
              queueId: r.queue_id,
              sender: r.sender,
              size: r.size,
              arrivalTime: r.arrival_time,
              recipients: [],
            };
            byMessage.set(r.queue_id, c);
          }
          c.recipients.push({
            id: r.id,
            address: r.address,
            attempts: r.attempts,
            delayWarnedAt: r.delay_warned_at,
          });
        }
        claims = [...byMessage.values()];
        return claims.flatMap((c) => c.recipients.map((r) => r.id));
      },
      now + leaseMs,
    );
    return claims;
  }

  async update(updates: readonly RecipientUpdate[], now: number, opts?: { sync?: boolean }): Promise<void> {
    if (!updates.length) return;
    await this.hot.update(updates, now, opts?.sync ?? true);
  }

  async purgeFinished(before: number, limit: number): Promise<{ deleted: number; more: boolean }> {
    await this.hot.idle();
    const r = this.hot.purgeFinished(before, this.purgedUpTo, limit);
    const more = r.examined === limit;
    this.purgedUpTo = more ? r.last : '';
    return { deleted: r.deleted, more };
  }

  async compact(slackBytes: number, maxBytes: number): Promise<number> {
    await this.hot.idle();
    return this.hot.compact(slackBytes, maxBytes);
  }

  async states(queueId: string): Promise<Map<number, RecipientState>> {
    return Promise.resolve(this.hot.states(queueId));
  }

  async nextDue(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('recipients')
      .select((eb) => eb.fn.min<number | null>('next_attempt_at').as('due'))
      .where('state', 'in', DUE_STATES)
      .executeTakeFirst();
    return row?.due ?? undefined;
  }

  private async recipientsOf(queueIds: readonly string[]): Promise<Map<string, RecipientRecord[]>> {
    const out = new Map<string, RecipientRecord[]>();
    if (!queueIds.length) return out;
    const rows = await this.db
      .selectFrom('recipients')
      .selectAll()
      .where('queue_id', 'in', queueIds)
      .orderBy('id')
      .execute();
    for (const r of rows) {
      const list = out.get(r.queue_id) ?? [];
      list.push({
        id: r.id,
        address: r.address,
        state: r.state,
        attempts: r.attempts,
        next_attempt_at: r.next_attempt_at,
        delay_reason: r.delay_reason,
        relay: r.relay,
        dsn: r.dsn,
        updated_at: r.updated_at,
      });
      out.set(r.queue_id, list);
    }
    return out;
  }

  private toRecord(
    m: Omit<MessagesTable, 'results' | 'trace'>,
    recipients: RecipientRecord[],
  ): MessageRecord {
    return {
      queue_id: m.queue_id,
      arrival_time: m.arrival_time,
      sender: m.sender,
      message_size: m.size,
      client_address: m.client_address,
      client_helo: m.client_helo,
      auth_user: m.auth_user,
      origin: m.origin,
      recipients,
    };
  }

  async list(states: readonly RecipientState[] = PENDING_STATES): Promise<MessageRecord[]> {
    const msgs = await this.db
      .selectFrom('messages')
      .select([
        'queue_id',
        'arrival_time',
        'sender',
        'size',
        'client_address',
        'client_helo',
        'auth_user',
        'origin',
      ])
      .where('queue_id', 'in', (eb) =>
        eb
          .selectFrom('recipients')
          .select('queue_id')
          .where('state', 'in', [...states]),
      )
      .orderBy('arrival_time')
      .execute();
    const rcpts = await this.recipientsOf(msgs.map((m) => m.queue_id));
    return msgs.map((m) => this.toRecord(m, rcpts.get(m.queue_id) ?? []));
  }

  async get(queueId: string): Promise<MessageDetail | undefined> {
    const m = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('queue_id', '=', queueId)
      .executeTakeFirst();
    if (!m) return undefined;
    const rcpts = await this.recipientsOf([queueId]);
    return {
      ...this.toRecord(m, rcpts.get(queueId) ?? []),
      results: JSON.parse(m.results) as ResultRecord[],
      trace: JSON.parse(m.trace) as TraceEntry[],
    };
  }

  async counts(): Promise<Record<RecipientState, number>> {
    const rows = await this.db
      .selectFrom('recipients')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('state')
      .execute();
    const out = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<RecipientState, number>;
    for (const r of rows) out[r.state] = r.n;
    return out;
  }

  async isFinished(queueId: string): Promise<boolean> {
    return Promise.resolve(this.hot.isFinished(queueId));
  }

  async pendingIds(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('recipients')
      .select('queue_id')
      .distinct()
      .where('state', 'in', [...PENDING_STATES])
      .execute();
    return rows.map((r) => r.queue_id);
  }

  async fail(queueId: string, reason: string, now: number): Promise<void> {
    await this.db
      .updateTable('recipients')
      .set({ state: 'bounced', delay_reason: reason, dsn: '4.3.0', lease_until: 0, updated_at: now })
      .where('queue_id', '=', queueId)
      .where('state', 'in', [...PENDING_STATES])
      .execute();
  }

  async releaseLeases(): Promise<number> {
    const r = await this.db
      .updateTable('recipients')
      .set({ lease_until: 0 })
      .where('lease_until', '>', 0)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async move(
    queueId: string,
    from: readonly RecipientState[],
    to: RecipientState,
    now: number,
    recipients?: readonly string[],
  ): Promise<number> {
    if (recipients?.length === 0) return 0;
    let q = this.db
      .updateTable('recipients')
      .set({ state: to, next_attempt_at: now, lease_until: 0, updated_at: now })
      .where('queue_id', '=', queueId)
      .where('state', 'in', [...from]);
    if (recipients !== undefined) q = q.where('address', 'in', [...recipients]);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async close(): Promise<void> {
    await this.hotPath?.drain();
    await this.db.destroy();
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
  }

  async flush(queueId: string | undefined, now: number): Promise<number> {
    let q = this.db
      .updateTable('recipients')
      .set({ next_attempt_at: now })
      .where('state', '=', 'deferred')
      .where('next_attempt_at', '>', now);
    if (queueId !== undefined) q = q.where('queue_id', '=', queueId);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async remove(queueId: string, now: number): Promise<RemovedMessage | undefined> {
    // Writes first (DELETE ... RETURNING): the transaction takes the write lock at once, so a
    // delivery claiming the message meanwhile is serialised before or after it, never in between.
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .deleteFrom('recipients')
        .where('queue_id', '=', queueId)
        .returning(['state', 'lease_until'])
        .execute();
      const msg = await trx
        .deleteFrom('messages')
        .where('queue_id', '=', queueId)
        .returning('queue_id')
        .executeTakeFirst();
      if (!msg) return undefined;
      return {
        recipients: rows.length,
        pending: rows.filter((r) => PENDING_STATES.includes(r.state)).length,
        inFlight: rows.some((r) => r.lease_until > now),
      };
    });
  }
}
