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
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mysql2';
import { redactUrl } from '../store/database.js';
import { needService } from './require.js';

/** The admin connection tests use to create and drop their databases. */
export const MYSQL_TEST_URL = process.env['SMARTHOLD_TEST_MYSQL'] ?? 'mysql://root@127.0.0.1:3306/test';

/** A database of one's own, for one test or suite. */
export interface MysqlTestDatabase {
  /** Its name (smarthold_t_<unix seconds>_<pid>_<random>). */
  readonly name: string;
  /** The admin URL with this database in place of the admin one. */
  readonly url: string;
  /** Drops it. Close your own pools first (DROP waits for their locks); calling twice is harmless. */
  drop(): Promise<void>;
}

const PREFIX = 'smarthold_t_';
const LEFTOVER_AGE_S = 3600;

/** A small promise face over one mysql2 connection (loaded on first use, as pg is). */
interface Admin {
  query<T>(text: string): Promise<T[]>;
  end(): Promise<void>;
}

async function connect(timeoutMs: number): Promise<Admin> {
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
}

/** Resolves true when the admin connection answers a query within `timeoutMs`. */
export async function mysqlAvailable(timeoutMs = 2000): Promise<boolean> {
  let c: Admin;
  try {
    c = await connect(timeoutMs);
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

/** Runs `fn` on a fresh admin connection. */
async function withAdmin<T>(fn: (c: Admin) => Promise<T>): Promise<T> {
  let c: Admin;
  try {
    c = await connect(5000);
  } catch (err) {
    throw new Error(`MySQL for tests (${redactUrl(MYSQL_TEST_URL)}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

let swept: Promise<void> | undefined;

/** Drops test databases left by crashed runs (older than an hour); once per process, errors ignored. */
function sweepLeftovers(): Promise<void> {
  swept ??= withAdmin(async (c) => {
    const rows = await c.query<{ name: string }>(
      "SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE 'smarthold!_t!_%' ESCAPE '!'",
    );
    const now = Math.floor(Date.now() / 1000);
    for (const { name } of rows) {
      const created = Number(/^smarthold_t_(\d+)_\d+_[0-9a-f]+$/.exec(name)?.[1]);
      // Another process may be dropping the same one: ignore its errors.
      if (created && now - created > LEFTOVER_AGE_S)
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
    }
  }).catch(() => undefined);
  return swept;
}

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
  const name = `${PREFIX}${String(Math.floor(Date.now() / 1000))}_${String(process.pid)}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) =>
    c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`),
  );
  const u = new URL(MYSQL_TEST_URL);
  u.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: u.href,
    drop: () =>
      (dropped ??= withAdmin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      })),
  };
}
