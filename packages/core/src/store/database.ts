/**
 * store/database.ts — the database plugins keep their tables in (ctx.data).
 *
 * By default that is the queue's own SQLite file, so one file holds
 * everything. With `[store] database = "postgres://..."` it is a PostgreSQL
 * database (pg's pool), with `"mysql://..."` a MySQL 8 or MariaDB 10.11+
 * database (mysql2's pool), so several nodes share preferences and
 * quarantine records. Each driver is loaded only when configured. Numbers
 * read back as JS numbers on every dialect (bigint columns, count, sum), as
 * SQLite gives them. Opening checks the connection at once, so a wrong URL
 * stops start-up with a clear error (password hidden) instead of failing the
 * first message. It does not run migrations (plugin/host.ts does, per
 * plugin) and does not hold the queue itself, which stays in the local store.
 */
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, sql } from 'kysely';
import type { Config } from '../config/schema.js';
import { SmartholdError } from '../errors.js';

/** A database for plugin tables. */
export interface PluginDatabase {
  // Each plugin brings its own table types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  readonly dialect: 'sqlite' | 'postgres' | 'mysql';
  close(): Promise<void>;
}

/** True for a URL `[store] database` opens with mysql2 (MySQL or MariaDB). */
export function isMysqlUrl(url: string): boolean {
  return /^mysql:\/\//i.test(url);
}

/**
 * The SQL mode of every MySQL session, whatever the server's default: strict
 * (a value too long is an error, not silently cut), and without
 * NO_BACKSLASH_ESCAPES, which mysql2's client-side quoting relies on.
 * Valid on MySQL 8 and MariaDB.
 */
const MYSQL_SQL_MODE =
  'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/** PostgreSQL type oids read as JS numbers, as SQLite gives them: int8 (bigint, count(*)) and numeric (sum, avg). */
const NUMBER_OIDS = ['INT8', 'NUMERIC'] as const;

/**
 * Hides the password of a connection URL (in the user part and in a
 * `password=` parameter) for messages and logs. What cannot be parsed as a
 * URL loses everything between `//` and the last `@`.
 *
 * @example
 * redactUrl('postgres://sh:secret@db/sh'); // 'postgres://sh:***@db/sh'
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/\/\/.*@/s, '//***@').replace(/(pass\w*\s*=\s*)('[^']*'|[^\s&]+)/gi, '$1***');
  }
  if (u.password) u.password = '***';
  for (const key of [...u.searchParams.keys()]) if (/pass/i.test(key)) u.searchParams.set(key, '***');
  return u.href;
}

/** A connection error as one line (net gives an AggregateError with an empty message when every address fails). */
function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return err.errors.map(describeError).join('; ');
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}

/**
 * The database for plugin tables under a config: PostgreSQL or MySQL when
 * `[store] database` is set, otherwise the queue's SQLite database (not
 * closed here: the queue store owns it).
 */
export async function openPluginDatabase(
  config: Config,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sqlite: Kysely<any>,
): Promise<PluginDatabase> {
  const url = config.store.database;
  if (url) return isMysqlUrl(url) ? openMysql(url) : openPostgres(url);
  return { db: sqlite, dialect: 'sqlite', close: () => Promise.resolve() };
}

/**
 * Opens a PostgreSQL database through a pool and checks that it answers.
 * Throws SMARTHOLD_DATABASE (with the password redacted) when it does not.
 *
 * @example
 * const pgdb = await openPostgres('postgres://smarthold@127.0.0.1/smarthold');
 */
export async function openPostgres(url: string, poolSize = 10): Promise<PluginDatabase> {
  // Loaded only when PostgreSQL is configured: the embedded default never pays for it.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
    // A default for pg_stat_activity; an application_name in the URL wins.
    application_name: 'smarthold',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    for (const name of NUMBER_OIDS) client.setTypeParser(pg.types.builtins[name], (v: string) => Number(v));
  });
  try {
    const c = await pool.connect();
    c.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw connectError(url, err);
  }
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/** SMARTHOLD_DATABASE for a database that does not answer, naming the URL without its password. */
function connectError(url: string, err: unknown): SmartholdError {
  return new SmartholdError(
    'SMARTHOLD_DATABASE',
    `cannot connect to ${redactUrl(url)}: ${describeError(err)}`,
    {
      key: 'store.database',
      cause: err,
    },
  );
}

/**
 * Opens a MySQL 8 or MariaDB 10.11+ database through mysql2's pool and checks
 * that it answers. The connection speaks utf8mb4 in a strict SQL mode
 * (MYSQL_SQL_MODE); bigint columns and count(*) read back as numbers
 * (strings only beyond 2^53, which milliseconds and counters never reach),
 * decimal results (sum) as numbers.
 * Options in the URL's query string are mysql2 connection options and win
 * (`?ssl={"rejectUnauthorized":true}`, `?connectionLimit=20`). Throws
 * SMARTHOLD_DATABASE (with the password redacted) when it does not answer.
 *
 * @example
 * const mydb = await openMysql('mysql://smarthold:secret@127.0.0.1/smarthold');
 */
export async function openMysql(url: string, poolSize = 10): Promise<PluginDatabase> {
  // Loaded only when MySQL is configured, like pg.
  const { createPool } = await import('mysql2');
  const pool = createPool({
    uri: url,
    connectionLimit: poolSize,
    // Up to four idle connections stay open; more are closed after a minute idle. One the server
    // closes (wait_timeout, a restart) leaves the pool, and the next query opens a new one.
    maxIdle: Math.min(poolSize, 4),
    idleTimeout: 60_000,
    enableKeepAlive: true,
    connectTimeout: 10_000,
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
  });
  // A pooled connection that fails (the server restarts, wait_timeout) leaves the pool by itself,
  // but only listens for its first 'error': a second must not crash the process.
  pool.on('connection', (c) => {
    c.on('error', () => undefined);
  });
  const db = new Kysely<unknown>({
    dialect: new MysqlDialect({
      pool,
      onCreateConnection: async (c) => {
        await c.executeQuery(CompiledQuery.raw(`SET SESSION sql_mode = '${MYSQL_SQL_MODE}'`));
      },
    }),
  });
  try {
    await sql`SELECT 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw connectError(url, err);
  }
  return { db, dialect: 'mysql', close: () => db.destroy() };
}
