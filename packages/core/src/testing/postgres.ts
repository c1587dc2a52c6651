/**
 * testing/postgres.ts — a real PostgreSQL for tests, one fresh database each.
 *
 * Tests that run on PostgreSQL (the plugin tables under `[store] database`)
 * call `needPostgres()` to skip (or, under SMARTHOLD_TEST_REQUIRE, fail) when
 * there is none, and `createPgTestDatabase()` for a database of their own,
 * dropped afterwards. The admin connection is SMARTHOLD_TEST_PG (default
 * postgres://postgres@127.0.0.1:5432/postgres); its role needs CREATEDB.
 * Names are unique per process and call, so parallel test processes never
 * share a database, and carry their creation time so that leftovers of
 * crashed runs older than an hour are dropped by the next run. It does not
 * start PostgreSQL (.ci/run does) and does not mock it.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { redactUrl } from '../store/database.js';
import { needService } from './require.js';

/**
 * The pg module, loaded on first use: this file is exported from the package
 * index, and a smarthold that never runs a test must not pay ~16 MB for it.
 */
async function pgModule(): Promise<typeof pg> {
  return (await import('pg')).default;
}

/** The admin connection tests use to create and drop their databases. */
export const PG_TEST_URL = process.env['SMARTHOLD_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of one's own, for one test or suite. */
export interface PgTestDatabase {
  /** Its name (smarthold_t_<unix seconds>_<pid>_<random>). */
  readonly name: string;
  /** The admin URL with this database in place of the admin one. */
  readonly url: string;
  /** Ends every connection to it and drops it. Close your own pools first; calling twice is harmless. */
  drop(): Promise<void>;
}

const PREFIX = 'smarthold_t_';
const LEFTOVER_AGE_S = 3600;

/** Resolves true when the admin connection answers a query within `timeoutMs`. */
export async function pgAvailable(timeoutMs = 2000): Promise<boolean> {
  const c = new (await pgModule()).Client({
    connectionString: PG_TEST_URL,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch {
    return false;
  }
  try {
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Checks PostgreSQL for a test: `false` when the test should run, or a skip
 * reason. Throws when it is missing and SMARTHOLD_TEST_REQUIRE demands it.
 *
 * @example
 * const skip = await needPostgres();
 * if (skip) return t.skip(skip);
 */
export function needPostgres(): Promise<false | string> {
  return needService('postgres', () => pgAvailable());
}

/** Runs `fn` on a fresh admin connection. */
async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new (await pgModule()).Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch (err) {
    throw new Error(`PostgreSQL for tests (${redactUrl(PG_TEST_URL)}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Drops a database, ending its connections first (FORCE needs PostgreSQL 13; older ones get the same by hand). */
async function dropDatabase(c: pg.Client, name: string): Promise<void> {
  const { rows } = await c.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
  const version = rows[0]?.v ?? 0;
  if (version >= 130000) {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    return;
  }
  await c.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  await c.query(`DROP DATABASE IF EXISTS "${name}"`);
}

let swept: Promise<void> | undefined;

/** Drops test databases left by crashed runs (older than an hour); once per process, errors ignored. */
function sweepLeftovers(): Promise<void> {
  swept ??= withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'smarthold\\_t\\_%'",
    );
    const now = Math.floor(Date.now() / 1000);
    for (const { datname } of rows) {
      const created = Number(/^smarthold_t_(\d+)_/.exec(datname)?.[1]);
      // Another process may be dropping the same one: ignore its errors.
      if (created && now - created > LEFTOVER_AGE_S) await dropDatabase(c, datname).catch(() => undefined);
    }
  }).catch(() => undefined);
  return swept;
}

/**
 * Creates a fresh, empty database (from template0) and returns its URL.
 *
 * @example
 * const pgdb = await createPgTestDatabase();
 * after(() => pgdb.drop());
 * const t = await startTestSmarthold({ config: { store: { database: pgdb.url } } });
 */
export async function createPgTestDatabase(): Promise<PgTestDatabase> {
  await sweepLeftovers();
  const name = `${PREFIX}${String(Math.floor(Date.now() / 1000))}_${String(process.pid)}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0`));
  const u = new URL(PG_TEST_URL);
  u.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: u.href,
    drop: () => (dropped ??= withAdmin((c) => dropDatabase(c, name))),
  };
}
