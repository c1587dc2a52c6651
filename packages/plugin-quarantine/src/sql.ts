/**
 * sql.ts — the few statement shapes that differ between the dialects.
 *
 * SQLite and PostgreSQL write "insert unless the key exists" as `ON CONFLICT
 * (key) DO NOTHING`; MySQL has `ON DUPLICATE KEY UPDATE`, given here a no-op
 * assignment (`key = key`) rather than `INSERT IGNORE`, which would also turn
 * other errors (a value too long, a NULL) into warnings. Everything else is
 * written once, in records.ts, tokens.ts and the pages; this holds no query
 * of its own.
 */
import { type InsertQueryBuilder, sql } from 'kysely';
import type { Dialect } from './db.js';

/**
 * Makes an INSERT keep the existing row when `column` (the table's only key)
 * is already there.
 *
 * @example
 * await db.insertInto('quarantine_settings').values(row).$call(keepExisting(dialect, 'name')).execute();
 */
export function keepExisting<DB, TB extends keyof DB, O>(
  dialect: Dialect,
  column: keyof DB[TB] & string,
): (q: InsertQueryBuilder<DB, TB, O>) => InsertQueryBuilder<DB, TB, O> {
  return (q) =>
    dialect === 'mysql'
      ? q.onDuplicateKeyUpdate({ [column]: sql.ref(column) } as never)
      : q.onConflict((oc) => oc.column(column as never).doNothing());
}

/** True for MySQL's duplicate-key error (ER_DUP_ENTRY, 1062). */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { errno?: unknown } | null)?.errno === 1062;
}
