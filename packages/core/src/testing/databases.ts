/**
 * testing/databases.ts — what the PostgreSQL and MySQL test databases
 * share (testing/postgres.ts, testing/mysql.ts): their names, which of them
 * are leftovers of crashed runs, the admin connection's life and errors, and
 * the handle a test gets. The drivers and the SQL stay in those two files.
 */
import { randomBytes } from 'node:crypto';
import { redactUrl } from '../store/database.js';

/** A database of one's own, for one test or suite. */
export interface TestDatabase {
  /** Its name (smarthold_t_<unix seconds>_<pid>_<random>). */
  readonly name: string;
  /** The admin URL with this database in place of the admin one. */
  readonly url: string;
  /** Drops it. Close your own pools first; calling twice is harmless. */
  drop(): Promise<void>;
}

/** Test databases older than this (seconds, from their names) are a crashed run's leftovers. */
const LEFTOVER_AGE_S = 3600;

/** A new name: unique per process and call, with its creation time in it. */
export function testDatabaseName(): string {
  return `smarthold_t_${String(Math.floor(Date.now() / 1000))}_${String(process.pid)}_${randomBytes(4).toString('hex')}`;
}

/** True for a test database's name created over an hour ago. */
export function isLeftover(name: string, nowMs = Date.now()): boolean {
  const created = Number(/^smarthold_t_(\d+)_/.exec(name)?.[1]);
  return created > 0 && Math.floor(nowMs / 1000) - created > LEFTOVER_AGE_S;
}

/** The handle of a database just created: `drop` runs once, however often it is called. */
export function testDatabase(adminUrl: string, name: string, drop: () => Promise<void>): TestDatabase {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return { name, url: u.href, drop: () => (dropped ??= drop()) };
}

/** How to open and close one admin connection of a driver. */
export interface AdminConnector<C> {
  /** "PostgreSQL", "MySQL": named in errors. */
  readonly service: string;
  readonly url: string;
  open(timeoutMs: number): Promise<C>;
  close(c: C): Promise<void>;
}

/**
 * Runs `fn` on a fresh admin connection and closes it. A connection that
 * cannot be opened throws an error naming the service and its URL (without
 * a password).
 */
export async function withAdmin<C, T>(
  admin: AdminConnector<C>,
  fn: (c: C) => Promise<T>,
  timeoutMs = 5000,
): Promise<T> {
  let c: C;
  try {
    c = await admin.open(timeoutMs);
  } catch (err) {
    throw new Error(`${admin.service} for tests (${redactUrl(admin.url)}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return await fn(c);
  } finally {
    await admin.close(c).catch(() => undefined);
  }
}

/** Resolves true when an admin connection answers `SELECT 1` within `timeoutMs`. */
export function adminAnswers<C>(
  admin: AdminConnector<C>,
  query: (c: C, sql: string) => Promise<unknown>,
  timeoutMs: number,
): Promise<boolean> {
  return withAdmin(admin, (c) => query(c, 'SELECT 1'), timeoutMs).then(
    () => true,
    () => false,
  );
}

/**
 * Drops, once per process and on one admin connection, the test databases
 * `list` names that are leftovers; errors are ignored (another process may
 * be dropping the same one).
 */
export function leftoverSweeper<C>(
  admin: AdminConnector<C>,
  list: (c: C) => Promise<string[]>,
  drop: (c: C, name: string) => Promise<void>,
): () => Promise<void> {
  let swept: Promise<void> | undefined;
  return () =>
    (swept ??= withAdmin(admin, async (c) => {
      for (const name of await list(c)) if (isLeftover(name)) await drop(c, name).catch(() => undefined);
    }).catch(() => undefined));
}
