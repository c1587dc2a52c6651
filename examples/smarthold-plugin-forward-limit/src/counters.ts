/**
 * counters.ts — the per-mailbox counters and the limiter built on them.
 *
 * `CounterStore` is the storage contract (one row per mailbox and window);
 * `kyselyCounters` keeps the rows in smarthold's database through the
 * plugin's `ctx.data` (table `forward_limit_counters`, migrations below, on
 * SQLite, PostgreSQL and MySQL/MariaDB: the key column and the upsert are the
 * two places where MySQL differs). `ForwardLimiter` puts the clock, the window arithmetic
 * (window.ts) and a store together: count a message, list the top
 * forwarders, prune old windows. It decides nothing about verdicts.
 */
import type { Clock, Kysely, Migration, PluginData } from '@smarthold/core';
import { effectiveCount, pruneBefore, windowStart, type WindowMode } from './window.js';

/** One counter row. */
export interface CounterRow {
  readonly mailbox: string;
  readonly windowStart: number;
  readonly count: number;
}

/** Where counters live. */
export interface CounterStore {
  /** Adds one to (mailbox, windowStart), creating the row; resolves with the new count. */
  increment(mailbox: string, windowStart: number): Promise<number>;
  /** The count of (mailbox, windowStart), 0 when there is no row. */
  count(mailbox: string, windowStart: number): Promise<number>;
  /** Every row whose window starts at or after `since`. */
  since(since: number): Promise<CounterRow[]>;
  /** Deletes rows whose window starts before `before`; resolves with how many. */
  deleteBefore(before: number): Promise<number>;
}

/** The table as Kysely sees it. */
export interface ForwardLimitTables {
  forward_limit_counters: {
    mailbox: string;
    // bigint: milliseconds since the epoch do not fit PostgreSQL's integer. pg returns bigint as a string.
    window_start: number | string;
    count: number | string;
  };
}

/** The database's dialect (`ctx.data.dialect`). */
export type Dialect = PluginData['dialect'];

/**
 * This plugin's migrations for a dialect, in name order. Never edit a shipped
 * one; add the next. MySQL cannot key a `text` column: the mailbox is a
 * `varchar(320)` there (an address's longest).
 */
export const migrationsFor = (dialect: Dialect): Readonly<Record<string, Migration>> => ({
  '001_counters': {
    async up(db) {
      await db.schema
        .createTable('forward_limit_counters')
        .addColumn('mailbox', dialect === 'mysql' ? 'varchar(320)' : 'text', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('forward_limit_counters_pk', ['mailbox', 'window_start'])
        .execute();
      await db.schema
        .createIndex('forward_limit_counters_window')
        .on('forward_limit_counters')
        .column('window_start')
        .execute();
    },
  },
});

/** Counters in smarthold's database (SQLite, PostgreSQL or MySQL). */
export function kyselyCounters(db: Kysely<ForwardLimitTables>, dialect: Dialect): CounterStore {
  const t = 'forward_limit_counters' as const;
  return {
    async increment(mailbox, start) {
      if (dialect === 'mysql') {
        // No RETURNING: LAST_INSERT_ID(expr) hands the updated count back in the same statement
        // (atomic); a new row reports no insert id, and its count is 1.
        const r = await db
          .insertInto(t)
          .values({ mailbox, window_start: start, count: 1 })
          .onDuplicateKeyUpdate((eb) => ({ count: eb.fn('last_insert_id', [eb(`${t}.count`, '+', 1)]) }))
          .executeTakeFirstOrThrow();
        return r.insertId === undefined ? 1 : Number(r.insertId);
      }
      const row = await db
        .insertInto(t)
        .values({ mailbox, window_start: start, count: 1 })
        .onConflict((oc) =>
          oc.columns(['mailbox', 'window_start']).doUpdateSet((eb) => ({ count: eb(`${t}.count`, '+', 1) })),
        )
        .returning('count')
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },
    async count(mailbox, start) {
      const row = await db
        .selectFrom(t)
        .select('count')
        .where('mailbox', '=', mailbox)
        .where('window_start', '=', start)
        .executeTakeFirst();
      return row ? Number(row.count) : 0;
    },
    async since(since) {
      const rows = await db.selectFrom(t).selectAll().where('window_start', '>=', since).execute();
      return rows.map((r) => ({
        mailbox: r.mailbox,
        windowStart: Number(r.window_start),
        count: Number(r.count),
      }));
    },
    async deleteBefore(before) {
      const r = await db.deleteFrom(t).where('window_start', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

/** What counting one message found. Plain JSON, recorded in the results. */
export interface LimitResult {
  readonly mailbox: string;
  /** Messages in the current window, this one included. */
  readonly count: number;
  /** Messages in the previous window (0 in fixed mode, where it does not matter). */
  readonly previous: number;
  /** The number judged against `max` (window.ts). */
  readonly estimate: number;
  readonly max: number;
  readonly over: boolean;
}

/** One line of the top-forwarders list. */
export interface TopEntry {
  readonly mailbox: string;
  readonly count: number;
  readonly previous: number;
  readonly estimate: number;
  readonly over: boolean;
}

export interface LimiterOptions {
  readonly windowMs: number;
  readonly max: number;
  readonly mode: WindowMode;
}

/** Counting, listing and pruning at the clock's time. */
export class ForwardLimiter {
  constructor(
    private readonly store: CounterStore,
    private readonly clock: Clock,
    private readonly opts: LimiterOptions,
  ) {}

  /** Counts one message from `mailbox` and says whether it is over the limit. */
  async hit(mailbox: string): Promise<LimitResult> {
    const { windowMs, max, mode } = this.opts;
    const now = this.clock.now();
    const start = windowStart(now, windowMs);
    const count = await this.store.increment(mailbox, start);
    const previous = mode === 'sliding' ? await this.store.count(mailbox, start - windowMs) : 0;
    const estimate = effectiveCount(mode, now, windowMs, count, previous);
    return { mailbox, count, previous, estimate, max, over: estimate > max };
  }

  /** The mailboxes with the highest counts now, highest first (ties by name). */
  async top(limit: number): Promise<TopEntry[]> {
    const { windowMs, max, mode } = this.opts;
    const now = this.clock.now();
    const start = windowStart(now, windowMs);
    const by = new Map<string, { count: number; previous: number }>();
    for (const r of await this.store.since(start - windowMs)) {
      const e = by.get(r.mailbox) ?? { count: 0, previous: 0 };
      if (r.windowStart === start) e.count += r.count;
      else if (r.windowStart === start - windowMs) e.previous += r.count;
      by.set(r.mailbox, e);
    }
    return [...by]
      .map(([mailbox, e]) => {
        const previous = mode === 'sliding' ? e.previous : 0;
        const estimate = effectiveCount(mode, now, windowMs, e.count, previous);
        return { mailbox, count: e.count, previous, estimate, over: estimate > max };
      })
      .filter((e) => e.count > 0 || e.estimate > 0)
      .sort((a, b) => b.estimate - a.estimate || b.count - a.count || (a.mailbox < b.mailbox ? -1 : 1))
      .slice(0, limit);
  }

  /** Deletes counters of windows that can no longer matter; resolves with how many rows went. */
  prune(): Promise<number> {
    return this.store.deleteBefore(pruneBefore(this.clock.now(), this.opts.windowMs));
  }
}
