/**
 * testing/mysql.ts — a real MySQL or MariaDB for tests, one fresh database each.
 *
 * The MySQL twin of testing/postgres.ts. Tests that run on MySQL (the plugin
 * tables under `[store] database = "mysql://..."`) call `needMysql()` to skip
 * (or, under SMARTHOLD_TEST_REQUIRE, fail) when there is none, and
 * `createMysqlTestDatabase()` for a database of their own, dropped
 * afterwards. The admin connection is SMARTHOLD_TEST_MYSQL (default
 * mysql://root@127.0.0.1:3306/test); its user needs CREATE and DROP on
 * `smarthold_t_%`. Test databases get the server's usual case-insensitive
 * collation on purpose, so the tables' own collation is what tests see.
 * Names are unique per process and call, and carry their creation time so
 * that leftovers of crashed runs older than an hour are dropped by the next
 * run. It does not start MariaDB (.ci/run does) and does not mock it.
 */
import type { Connection } from 'mysql2';
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

/** The admin connection tests use to create and drop their databases. */
export const MYSQL_TEST_URL = process.env['SMARTHOLD_TEST_MYSQL'] ?? 'mysql://root@127.0.0.1:3306/test';

/** A database of one's own, for one test or suite (DROP waits for the locks of pools still open). */
export type MysqlTestDatabase = TestDatabase;

/** A small promise face over one mysql2 connection (loaded on first use, as pg is). */
interface Admin {
  query<T>(text: string): Promise<T[]>;
  end(): Promise<void>;
}

const ADMIN: AdminConnector<Admin> = {
  service: 'MySQL',
  url: MYSQL_TEST_URL,
  async open(timeoutMs) {
    const { createConnection } = await import('mysql2');
    const c: Connection = createConnection({ uri: MYSQL_TEST_URL, connectTimeout: timeoutMs });
    c.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      c.connect((err) => {
        if (err) reject(err);
        else resolve();
      });
    });
    return {
      query: <T>(text: string) =>
        new Promise<T[]>((resolve, reject) => {
          c.query({ sql: text, timeout: timeoutMs * 5 }, (err, rows) => {
            if (err) reject(err);
            else resolve(rows as T[]);
          });
        }),
      end: () =>
        new Promise<void>((resolve) => {
          c.end(() => {
            resolve();
          });
        }),
    };
  },
  close: (c) => c.end(),
};

/** Resolves true when the admin connection answers a query within `timeoutMs`. */
export function mysqlAvailable(timeoutMs = 2000): Promise<boolean> {
  return adminAnswers(ADMIN, (c, text) => c.query(text), timeoutMs);
}

/**
 * Checks MySQL for a test: `false` when the test should run, or a skip
 * reason. Throws when it is missing and SMARTHOLD_TEST_REQUIRE demands it
 * (`all`, or a list naming `mysql`).
 *
 * @example
 * const skip = await needMysql();
 * if (skip) return t.skip(skip);
 */
export function needMysql(): Promise<false | string> {
  return needService('mysql', () => mysqlAvailable());
}

const dropDatabase = async (c: Admin, name: string): Promise<void> => {
  await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
};

/** Drops test databases left by crashed runs (older than an hour); once per process. */
const sweepLeftovers = leftoverSweeper(
  ADMIN,
  async (c) =>
    (
      await c.query<{ name: string }>(
        "SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE 'smarthold!_t!_%' ESCAPE '!'",
      )
    ).map((r) => r.name),
  dropDatabase,
);

/**
 * Creates a fresh, empty database (utf8mb4, the server's usual
 * case-insensitive collation) and returns its URL.
 *
 * @example
 * const mydb = await createMysqlTestDatabase();
 * after(() => mydb.drop());
 * const t = await startTestSmarthold({ config: { store: { database: mydb.url } } });
 */
export async function createMysqlTestDatabase(): Promise<MysqlTestDatabase> {
  await sweepLeftovers();
  const name = testDatabaseName();
  await withAdmin(ADMIN, (c) =>
    c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`),
  );
  return testDatabase(MYSQL_TEST_URL, name, () => withAdmin(ADMIN, (c) => dropDatabase(c, name)));
}
