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
import type pg from 'pg';
import { needService } from './require.js';
import {
  adminAnswers,
  type AdminConnector,
  leftoverSweeper,
  type TestDatabase,
  testDatabase,
  testDatabaseName,
  withAdmin,
} from './databases.js';

/**
 * The pg module, loaded on first use: this file is exported from the package
 * index, and a smarthold that never runs a test must not pay ~16 MB for it.
 */
async function pgModule(): Promise<typeof pg> {
  return (await import('pg')).default;
}

/** The admin connection tests use to create and drop their databases. */
export const PG_TEST_URL = process.env['SMARTHOLD_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of one's own, for one test or suite (drop() ends its connections first). */
export type PgTestDatabase = TestDatabase;

const ADMIN: AdminConnector<pg.Client> = {
  service: 'PostgreSQL',
  url: PG_TEST_URL,
  async open(timeoutMs) {
    const c = new (await pgModule()).Client({
      connectionString: PG_TEST_URL,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs * 5,
    });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  },
  close: (c) => c.end(),
};

/** Resolves true when the admin connection answers a query within `timeoutMs`. */
export function pgAvailable(timeoutMs = 2000): Promise<boolean> {
  return adminAnswers(ADMIN, (c, text) => c.query(text), timeoutMs);
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

/** Drops test databases left by crashed runs (older than an hour); once per process. */
const sweepLeftovers = leftoverSweeper(
  ADMIN,
  async (c) =>
    (
      await c.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'smarthold\\_t\\_%'",
      )
    ).rows.map((r) => r.datname),
  dropDatabase,
);

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
  const name = testDatabaseName();
  await withAdmin(ADMIN, (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0`));
  return testDatabase(PG_TEST_URL, name, () => withAdmin(ADMIN, (c) => dropDatabase(c, name)));
}
