/**
 * store/sqlite-hot.ts — the queue's hot path on SQLite: prepared statements
 * and group commit.
 *
 * Every accepted message costs a commit and an update (and a claim when it
 * was not handed to a delivery slot at commit, see committer.ts). Through
 * Kysely each query was compiled and prepared again, and each commit was its
 * own transaction with its own fsync (synchronous=FULL). Here the statements
 * are prepared once, and commits and delivery updates that arrive in the
 * same turn of the event loop are written in one transaction: one fsync for
 * all of them, and every caller's promise resolves only after it. If a batch
 * fails, its items are retried one by one so one bad item cannot fail the
 * others. Durability is unchanged: nothing resolves before its transaction
 * is on disk. The cold paths (listings, admin) stay in Kysely (sqlite.ts).
 */
import type Database from 'better-sqlite3';
import { queueIdTimePrefix } from '../util/queue-id.js';
import type { NewMessage, RecipientState, RecipientUpdate } from './types.js';

/** Rows claim() reads. */
export interface DueRow {
  id: number;
  address: string;
  attempts: number;
  delay_warned_at: number;
  queue_id: string;
  sender: string;
  size: number;
  arrival_time: number;
}

/** An item of the group commit: a new message (`ids` filled in when written) or a delivery result. */
type Write =
  | { readonly kind: 'commit'; readonly message: NewMessage; ids: number[] }
  | { readonly kind: 'update'; readonly u: RecipientUpdate; readonly now: number }
  | { readonly kind: 'drop'; readonly queueId: string };

/**
 * Bodies stored with their message (NewMessage.body), for the spool to read
 * and remove (Spool.attachInline). Synchronous: a read is one indexed lookup.
 */
export interface InlineBodies {
  /** The stored body, or undefined when the message has none here (a spool file, or gone). */
  read(queueId: string): Buffer | undefined;
  /** Its size, or undefined as for read(). */
  size(queueId: string): number | undefined;
  /**
   * Removes a stored body with the next group commit; false when there is
   * none. Not waited for: a removal lost in a crash is redone by sweep().
   */
  drop(queueId: string): boolean;
  /** Removes the bodies of messages with no pending recipient (start-up); how many. */
  sweep(): number;
}

interface Waiter<T> {
  readonly item: T;
  /** Resolved only after the WAL fsync; otherwise once written (durable with a later fsync). */
  readonly synced: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Collects items and writes them in one transaction: those of one event-loop
 * turn, and, with `sync`, also all that arrive while the previous batch's
 * fsync is in flight (group commit). `write` runs inside the transaction for
 * one item.
 *
 * With `sync`, the transaction itself runs with synchronous=NORMAL (SQLite
 * writes the WAL frames but does not fsync them) and `sync` then fsyncs the
 * WAL file on the thread pool: callers resolve only after that, so "durable
 * when it resolves" holds, but the event loop never waits for the disk.
 */
class GroupWriter<T> {
  private queue: Waiter<T>[] = [];
  private scheduled = false;
  /** The fsync of the batch written last, while it is in flight. */
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly write: (item: T) => void,
    private readonly sync?: {
      readonly wal: () => Promise<void>;
      readonly unsynced: (fn: () => void) => void;
    },
  ) {}

  private run(fn: () => void): void {
    if (this.sync) this.sync.unsynced(fn);
    else this.db.transaction(fn)();
  }

  submit(item: T, synced = true): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, synced, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.syncing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.flush();
    });
  }

  /** Writes everything queued now; with `force`, even inside an open transaction (close). */
  flush(force = false): void {
    this.scheduled = false;
    if (this.db.inTransaction && !force) {
      // A Kysely transaction (remove, a plugin's own) is open on this connection across an
      // await: writing now would nest into it and resolve before it commits. Wait for it.
      this.scheduled = true;
      setImmediate(() => {
        this.flush();
      });
      return;
    }
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    const written = this.writeBatch(batch);
    // A batch of items that need no fsync of their own is not fsync'd: the log is written in
    // order, so the next fsync (of a commit) makes them durable with it.
    if (!this.sync || !written.some((w) => w.synced)) {
      for (const w of written) w.resolve();
      return;
    }
    this.syncing = this.sync.wal().then(
      () => {
        for (const w of written) w.resolve();
      },
      (err: unknown) => {
        // Written but maybe not on disk: refuse (the client retries; a duplicate, never a loss).
        for (const w of written) w.reject(err);
      },
    );
    void this.syncing.finally(() => {
      this.syncing = undefined;
      if (this.queue.length) this.schedule();
    });
  }

  /** Writes a batch in one transaction, or item by item if it fails; returns the written ones. */
  private writeBatch(batch: Waiter<T>[]): Waiter<T>[] {
    try {
      this.run(() => {
        for (const w of batch) this.write(w.item);
      });
      return batch;
    } catch {
      // Find the culprit: each item alone, so the others still commit.
      const ok: Waiter<T>[] = [];
      for (const w of batch) {
        try {
          this.run(() => {
            this.write(w.item);
          });
          ok.push(w);
        } catch (err) {
          w.reject(err);
        }
      }
      return ok;
    }
  }

  /** Writes what is queued and waits for its fsync (before the database closes). */
  async drain(): Promise<void> {
    await this.syncing;
    this.flush(true);
    await this.syncing;
  }
}

/**
 * A runner of transactions with synchronous=NORMAL (no fsync by SQLite), which
 * puts synchronous=FULL back for the connection's other users (Kysely). The
 * PRAGMA statements are prepared once (db.pragma() prepares one per call).
 */
function unsyncedRunner(db: Database.Database): (fn: () => void) => void {
  const normal = db.prepare('PRAGMA synchronous = NORMAL');
  const full = db.prepare('PRAGMA synchronous = FULL');
  return (fn) => {
    normal.run();
    try {
      db.transaction(fn)();
    } finally {
      full.run();
    }
  };
}

const DUE = `('active','deferred')`;
const PENDING = `('active','deferred','hold')`;

/** The prepared statements and group writers of one database. */
export class HotPath {
  private readonly insMessage: Database.Statement;
  private readonly insRecipient: Database.Statement;
  private readonly selDue: Database.Statement;
  private readonly setLease: Database.Statement;
  private readonly updAny: Database.Statement;
  private readonly updDue: Database.Statement;
  private readonly selStates: Database.Statement;
  private readonly cntPending: Database.Statement;
  private readonly insBody: Database.Statement;
  private readonly selBody: Database.Statement;
  private readonly selBodySize: Database.Statement;
  private readonly delBody: Database.Statement;
  private readonly sweepBodies: Database.Statement;
  private readonly selFinished: Database.Statement;
  private readonly delMessage: Database.Statement;
  private readonly freePages: Database.Statement;
  /** Fixed for an open database: whether it can give space back (INCREMENTAL), and its page size. */
  private readonly incrementalVacuum: boolean;
  private readonly pageSize: number;
  /** Commits and delivery results, in one transaction and one WAL fsync per group. */
  private readonly writes: GroupWriter<Write>;
  /** Runs a transaction whose fsync is not SQLite's (see unsyncedRunner). */
  private readonly unsynced: (fn: () => void) => void;

  /**
   * `syncWal` fsyncs the database's WAL file off the event loop; without it
   * every transaction fsyncs inside SQLite (synchronous=FULL) on the event loop.
   */
  constructor(
    private readonly db: Database.Database,
    syncWal?: () => Promise<void>,
  ) {
    this.insMessage = db.prepare(
      `INSERT INTO messages (queue_id, arrival_time, sender, size, client_address, client_helo, auth_user, origin, results, trace)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insRecipient = db.prepare(
      `INSERT INTO recipients (queue_id, address, state, attempts, next_attempt_at, lease_until, delay_reason, relay, dsn, updated_at)
       VALUES (?, ?, ?, 0, ?, ?, ?, '', '', ?)`,
    );
    this.selDue = db.prepare(
      `SELECT r.id, r.address, r.attempts, r.delay_warned_at, m.queue_id, m.sender, m.size, m.arrival_time
       FROM recipients r INNER JOIN messages m ON m.queue_id = r.queue_id
       WHERE r.state IN ${DUE} AND r.next_attempt_at <= ? AND r.lease_until <= ?
       ORDER BY r.next_attempt_at LIMIT ?`,
    );
    this.setLease = db.prepare(`UPDATE recipients SET lease_until = ? WHERE id = ?`);
    const upd = `UPDATE recipients SET state = ?, attempts = ?, next_attempt_at = ?, lease_until = 0,
       delay_reason = ?, relay = ?, dsn = ?, updated_at = ?, delay_warned_at = COALESCE(?, delay_warned_at)
       WHERE id = ?`;
    this.updAny = db.prepare(upd);
    // A retry is not written over a recipient an operator moved meanwhile (hold wins).
    this.updDue = db.prepare(`${upd} AND state IN ${DUE}`);
    this.selStates = db.prepare(`SELECT id, state FROM recipients WHERE queue_id = ?`);
    this.cntPending = db
      .prepare(`SELECT count(*) FROM recipients WHERE queue_id = ? AND state IN ${PENDING}`)
      .pluck();
    this.insBody = db.prepare(`INSERT INTO bodies (queue_id, data) VALUES (?, ?)`);
    this.selBody = db.prepare(`SELECT data FROM bodies WHERE queue_id = ?`).pluck();
    this.selBodySize = db.prepare(`SELECT length(data) FROM bodies WHERE queue_id = ?`).pluck();
    this.delBody = db.prepare(`DELETE FROM bodies WHERE queue_id = ?`);
    this.sweepBodies = db.prepare(
      `DELETE FROM bodies WHERE queue_id NOT IN (SELECT queue_id FROM recipients WHERE state IN ${PENDING})`,
    );
    // Messages that arrived before @bound (queue ids start with the arrival time), after the
    // cursor @after, oldest first; `done` when no recipient is pending or changed since @since.
    this.selFinished = db.prepare(
      `SELECT m.queue_id AS id, NOT EXISTS (
         SELECT 1 FROM recipients r WHERE r.queue_id = m.queue_id AND (r.state IN ${PENDING} OR r.updated_at >= @since)
       ) AS done
       FROM messages m WHERE m.queue_id > @after AND m.queue_id < @bound ORDER BY m.queue_id LIMIT @limit`,
    );
    this.delMessage = db.prepare(`DELETE FROM messages WHERE queue_id = ?`);
    this.freePages = db.prepare('PRAGMA freelist_count').pluck();
    this.incrementalVacuum = db.pragma('auto_vacuum', { simple: true }) === 2;
    this.pageSize = db.pragma('page_size', { simple: true }) as number;
    // Delivery results are fsync'd too when the message's body is a spool file: it is removed
    // right after, and a "delivered" lost in a crash would then read as a lost body and bounce a
    // delivered message (see update()).
    this.unsynced = unsyncedRunner(db);
    this.writes = new GroupWriter(
      db,
      (w) => {
        if (w.kind === 'commit') w.ids = this.writeMessage(w.message);
        else if (w.kind === 'update') this.writeUpdate(w.u, w.now);
        else this.delBody.run(w.queueId);
      },
      syncWal && { wal: syncWal, unsynced: this.unsynced },
    );
  }

  /** Inserts a message and its recipients; returns the recipients' row ids, in order. */
  private writeMessage(m: NewMessage): number[] {
    this.insMessage.run(
      m.queueId,
      m.arrivalTime,
      m.sender,
      m.size,
      m.clientAddress,
      m.clientHelo,
      m.authUser,
      m.origin,
      JSON.stringify(m.results),
      JSON.stringify(m.trace),
    );
    if (m.body) this.insBody.run(m.queueId, m.body);
    return m.recipients.map(
      (r) =>
        this.insRecipient.run(
          m.queueId,
          r.address,
          r.state,
          m.arrivalTime,
          r.state === 'active' ? (m.leaseUntil ?? 0) : 0,
          r.reason ?? '',
          m.arrivalTime,
        ).lastInsertRowid as number,
    );
  }

  private writeUpdate(u: RecipientUpdate, now: number): void {
    (u.state === 'deferred' ? this.updDue : this.updAny).run(
      u.state,
      u.attempts,
      u.nextAttemptAt,
      u.delayReason,
      u.relay,
      u.dsn,
      now,
      u.delayWarnedAt ?? null,
      u.id,
    );
  }

  /**
   * Durable when it resolves; shares its transaction with commits of the same
   * turn. Resolves to the recipients' row ids, in the order given.
   */
  async commit(m: NewMessage): Promise<number[]> {
    const c: Write = { kind: 'commit', message: m, ids: [] };
    await this.writes.submit(c);
    return c.ids;
  }

  /**
   * Shares its transaction with the commits and updates of the same turn.
   * Durable when it resolves, or with `synced` false, once written: durable
   * with the next fsync, and before anything written after it.
   */
  async update(updates: readonly RecipientUpdate[], now: number, synced = true): Promise<void> {
    await Promise.all(updates.map((u) => this.writes.submit({ kind: 'update', u, now }, synced)));
  }

  /** Due recipients (at most `rows`), leased until `leaseUntil` in the same transaction. */
  async claim(
    now: number,
    rows: number,
    pick: (due: DueRow[]) => number[],
    leaseUntil: number,
  ): Promise<void> {
    await this.idle();
    // A lease need not survive a crash (start-up clears every lease): no fsync for it. A later
    // synchronous=FULL commit syncs the WAL up to and including this one, so order is kept.
    this.unsynced(() => {
      const due = this.selDue.all(now, now, rows) as DueRow[];
      for (const id of pick(due)) this.setLease.run(leaseUntil, id);
    });
  }

  states(queueId: string): Map<number, RecipientState> {
    const rows = this.selStates.all(queueId) as { id: number; state: RecipientState }[];
    return new Map(rows.map((r) => [r.id, r.state]));
  }

  isFinished(queueId: string): boolean {
    return (this.cntPending.get(queueId) as number) === 0;
  }

  /** The bodies stored with their messages (see InlineBodies). */
  readonly inline: InlineBodies = {
    read: (queueId) => (this.selBody.get(queueId) as Buffer | undefined) ?? undefined,
    size: (queueId) => (this.selBodySize.get(queueId) as number | undefined) ?? undefined,
    drop: (queueId) => {
      if (this.selBodySize.get(queueId) === undefined) return false;
      this.writes.submit({ kind: 'drop', queueId }, false).catch(() => undefined);
      return true;
    },
    sweep: () => this.sweepBodies.run().changes,
  };

  /**
   * Looks at up to `limit` messages that arrived before `before`, after
   * queue id `after`, oldest first, and deletes the finished ones (no pending
   * recipient, no change since `before`) with their recipients and stored
   * bodies (cascade): one transaction without an fsync of its own (a purge
   * lost in a crash is done again). Returns how many it looked at and
   * deleted, and the last id it looked at (the next call's `after`).
   */
  purgeFinished(
    before: number,
    after: string,
    limit: number,
  ): { examined: number; deleted: number; last: string } {
    let deleted = 0;
    let rows: { id: string; done: number }[] = [];
    this.unsynced(() => {
      rows = this.selFinished.all({
        after,
        bound: queueIdTimePrefix(before),
        since: before,
        limit,
      }) as typeof rows;
      for (const r of rows) if (r.done) deleted += this.delMessage.run(r.id).changes;
    });
    return { examined: rows.length, deleted, last: rows.at(-1)?.id ?? after };
  }

  /** See QueueStore.compact; without an fsync of its own, as purgeFinished(). */
  compact(slackBytes: number, maxBytes: number): number {
    if (!this.incrementalVacuum) return 0; // a database from before
    const { pageSize } = this;
    const free = this.freePages.get() as number;
    const slack = Math.floor(slackBytes / pageSize);
    if (free <= slack) return 0;
    const pages = Math.min(Math.max(1, Math.floor(maxBytes / pageSize)), free - slack);
    this.unsynced(() => {
      this.db.prepare(`PRAGMA incremental_vacuum(${String(pages)})`).run();
    });
    return (free - (this.freePages.get() as number)) * pageSize;
  }

  /** Writes whatever is still queued (before the database closes). */
  async drain(): Promise<void> {
    await this.writes.drain();
  }

  /** Resolves once no transaction is open on the connection (see GroupWriter.flush). */
  async idle(): Promise<void> {
    while (this.db.inTransaction) await new Promise((r) => setImmediate(r));
  }
}
