// The plugin database (ctx.data): redaction, openPostgres, openMysql and
// smarthold with `[store] database` on a real PostgreSQL and a real MariaDB or
// MySQL (a fresh database per suite; the suites skip without them, and fail
// under SMARTHOLD_TEST_REQUIRE).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, type Migration, SqliteDialect, sql } from 'kysely';
import { loadConfig } from '../config/load.js';
import { isSmartholdError } from '../errors.js';
import { definePlugin, type PluginManifest } from '../plugin/api.js';
import { verdict } from '../plugin/verdict.js';
import { startTestSmarthold } from '../testing/harness.js';
import {
  createMysqlTestDatabase,
  MYSQL_TEST_URL,
  type MysqlTestDatabase,
  needMysql,
} from '../testing/mysql.js';
import type { TestDatabase } from '../testing/databases.js';
import { createPgTestDatabase, needPostgres, PG_TEST_URL, type PgTestDatabase } from '../testing/postgres.js';
import { queueIdOf } from '../testing/smtp-client.js';
import { openMysql, openPluginDatabase, openPostgres, type PluginDatabase, redactUrl } from './database.js';

const pgSkip = await needPostgres();
const mySkip = await needMysql();

/** The admin URL with a password and another database name (trust auth ignores the password). */
function urlWith(password: string, database: string, port?: number, base = PG_TEST_URL): string {
  const u = new URL(base);
  u.password = password;
  u.pathname = `/${database}`;
  if (port !== undefined) u.port = String(port);
  return u.href;
}

/** A TCP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('redactUrl', () => {
  test('hides the password in the user part and in password= parameters, keeps the rest', () => {
    assert.equal(
      redactUrl('postgres://sh:s3cret@db.example:5433/sh'),
      'postgres://sh:***@db.example:5433/sh',
    );
    assert.equal(
      redactUrl('postgres://sh:p%40ss@db/sh?sslmode=require'),
      'postgres://sh:***@db/sh?sslmode=require',
    );
    assert.equal(redactUrl('postgres://sh@db/sh?password=s3cret'), 'postgres://sh@db/sh?password=***');
    assert.equal(redactUrl('postgresql://sh@db/sh'), 'postgresql://sh@db/sh');
  });

  test('what is not a URL loses everything up to the last @, and password= values', () => {
    const out = redactUrl('postgres://sh:s3/cr@et@db:x/sh');
    assert.equal(out, 'postgres://***@db:x/sh');
    assert.equal(redactUrl('host=db password=s3cret user=sh'), 'host=db password=*** user=sh');
  });
});

describe('config: [store] database', () => {
  test('a URL that is not postgres:// or mysql:// is refused by the loader, naming the key', () => {
    for (const url of ['mariadb://x/d', 'sqlite:///var/x.db', 'mongodb://x']) {
      assert.throws(
        () => loadConfig(undefined, { store: { database: url } }),
        (err: unknown) =>
          isSmartholdError(err, 'SMARTHOLD_CONFIG_INVALID') &&
          err.key === 'store.database' &&
          /store\.database: must be empty \(the local SQLite file\), a postgres:\/\/ or a mysql:\/\/ URL/.test(
            err.message,
          ),
      );
    }
  });

  test('postgres://, postgresql:// and mysql:// are accepted; empty means the queue SQLite database', async () => {
    for (const url of ['postgresql://h/d', 'postgres://h/d', 'mysql://u:p@h:3306/d']) {
      assert.equal(loadConfig(undefined, { store: { database: url } }).config.store.database, url);
    }
    const { config } = loadConfig(undefined);
    assert.equal(config.store.database, '');
    const sqlite = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new Database(':memory:') }),
    });
    const pdb = await openPluginDatabase(config, sqlite);
    assert.equal(pdb.dialect, 'sqlite');
    assert.equal(pdb.db, sqlite);
    await pdb.close(); // not the owner: the SQLite database stays open
    assert.deepEqual((await sql<{ one: number }>`SELECT 1 AS one`.execute(sqlite)).rows, [{ one: 1 }]);
    await sqlite.destroy();
  });
});

describe('openPostgres', { skip: pgSkip }, () => {
  let pgdb: PgTestDatabase;
  before(async () => {
    pgdb = await createPgTestDatabase();
  });
  after(() => pgdb.drop());

  test('bigint columns, count(*) and sum() read back as JS numbers', async () => {
    const d = await openPostgres(pgdb.url);
    try {
      assert.equal(d.dialect, 'postgres');
      await d.db.schema
        .createTable('t_numbers')
        .addColumn('id', 'integer')
        .addColumn('at', 'bigint')
        .execute();
      const big = 2 ** 41 + 3; // beyond int4, within Number's exact range
      await d.db
        .insertInto('t_numbers')
        .values([
          { id: 1, at: big },
          { id: 2, at: 5 },
        ])
        .execute();
      const row: unknown = await d.db
        .selectFrom('t_numbers')
        .select('at')
        .where('id', '=', 1)
        .executeTakeFirst();
      assert.deepEqual(row, { at: big });
      const agg: unknown = await d.db
        .selectFrom('t_numbers')
        .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('at').as('total')])
        .executeTakeFirst();
      assert.deepEqual(agg, { n: 2, total: big + 5 });
    } finally {
      await d.close();
    }
  });

  test('nothing listening: SMARTHOLD_DATABASE, with the password redacted', async () => {
    const url = urlWith('s3cret', 'postgres', await closedPort());
    await assert.rejects(openPostgres(url), (err: unknown) => {
      assert.ok(isSmartholdError(err, 'SMARTHOLD_DATABASE'), String(err));
      assert.equal(err.key, 'store.database');
      assert.ok(!err.message.includes('s3cret'), err.message);
      assert.match(err.message, /^cannot connect to postgres:\/\/[^:]+:\*\*\*@.*ECONNREFUSED/);
      return true;
    });
  });

  test('a database that does not exist: SMARTHOLD_DATABASE, naming it, password redacted', async () => {
    const url = urlWith('s3cret', 'smarthold_no_such_db');
    await assert.rejects(openPostgres(url), (err: unknown) => {
      assert.ok(isSmartholdError(err, 'SMARTHOLD_DATABASE'), String(err));
      assert.ok(!err.message.includes('s3cret'), err.message);
      assert.match(err.message, /"smarthold_no_such_db" does not exist/);
      return true;
    });
  });
});

describe('openMysql', { skip: mySkip }, () => {
  let mydb: MysqlTestDatabase;
  before(async () => {
    mydb = await createMysqlTestDatabase();
  });
  after(() => mydb.drop());

  test('bigint columns, count(*) and sum() read back as JS numbers; doubles stay doubles', async () => {
    const d = await openMysql(mydb.url);
    try {
      assert.equal(d.dialect, 'mysql');
      await d.db.schema
        .createTable('t_numbers')
        .addColumn('id', 'integer')
        .addColumn('at', 'bigint')
        .addColumn('score', 'double precision')
        .execute();
      const big = 2 ** 41 + 3; // beyond int4, within Number's exact range
      await d.db
        .insertInto('t_numbers')
        .values([
          { id: 1, at: big, score: 5.25 },
          { id: 2, at: 5, score: -1 },
        ])
        .execute();
      const row: unknown = await d.db
        .selectFrom('t_numbers')
        .select(['at', 'score'])
        .where('id', '=', 1)
        .executeTakeFirst();
      assert.deepEqual(row, { at: big, score: 5.25 });
      const agg: unknown = await d.db
        .selectFrom('t_numbers')
        .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('at').as('total'), eb.fn.max('id').as('top')])
        .executeTakeFirst();
      assert.deepEqual(agg, { n: 2, total: big + 5, top: 2 });
      // Past 2^53 a bigint comes back as an exact string rather than a rounded number.
      const huge = await sql<{ v: unknown }>`SELECT CAST(9007199254740993 AS SIGNED) AS v`.execute(d.db);
      assert.deepEqual(huge.rows, [{ v: '9007199254740993' }]);
    } finally {
      await d.close();
    }
  });

  test('every session is strict: a value too long is an error, not cut', async () => {
    const d = await openMysql(mydb.url, 2);
    try {
      const modes = await sql<{ m: string }>`SELECT @@SESSION.sql_mode AS m`.execute(d.db);
      const mode = modes.rows[0]?.m ?? '';
      assert.match(mode, /STRICT_TRANS_TABLES/);
      assert.doesNotMatch(mode, /NO_BACKSLASH_ESCAPES/);
      await sql`CREATE TABLE t_strict (v varchar(4)) ENGINE = InnoDB`.execute(d.db);
      await assert.rejects(d.db.insertInto('t_strict').values({ v: 'abcdef' }).execute(), /Data too long/);
      await d.db.insertInto('t_strict').values({ v: 'a\\b' }).execute();
      const rows: unknown = await d.db.selectFrom('t_strict').select('v').execute();
      assert.deepEqual(rows, [{ v: 'a\\b' }], 'a backslash is stored as one character');
    } finally {
      await d.close();
    }
  });

  test('an idle connection the server drops is replaced; the process does not crash', async () => {
    const d = await openMysql(mydb.url, 1);
    try {
      const id = async (): Promise<number> =>
        (await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(d.db)).rows[0]?.id ?? 0;
      const first = await id();
      const admin = await openMysql(mydb.url, 1);
      try {
        await sql`KILL ${sql.raw(String(first))}`.execute(admin.db);
      } finally {
        await admin.close();
      }
      await new Promise((r) => setTimeout(r, 200));
      const second = await id();
      assert.ok(second > 0 && second !== first, `${String(first)} then ${String(second)}`);
    } finally {
      await d.close();
    }
  });

  test('the connection speaks utf8mb4: characters outside the BMP round-trip', async () => {
    const d = await openMysql(mydb.url, 1);
    try {
      await sql`CREATE TABLE t_text (v varchar(32)) CHARACTER SET utf8mb4`.execute(d.db);
      await d.db.insertInto('t_text').values({ v: 'ünï 📨 𝔪' }).execute();
      const rows: unknown = await d.db.selectFrom('t_text').select('v').execute();
      assert.deepEqual(rows, [{ v: 'ünï 📨 𝔪' }]);
    } finally {
      await d.close();
    }
  });

  test('openPluginDatabase opens a mysql:// URL with mysql2', async () => {
    const d: PluginDatabase = await openPluginDatabase(
      loadConfig(undefined, { store: { database: mydb.url } }).config,
      undefined as never,
    );
    try {
      assert.equal(d.dialect, 'mysql');
      assert.deepEqual((await sql<{ one: number }>`SELECT 1 AS one`.execute(d.db)).rows, [{ one: 1 }]);
    } finally {
      await d.close();
    }
  });

  test('nothing listening: SMARTHOLD_DATABASE, with the password redacted', async () => {
    const url = urlWith('s3cret', 'test', await closedPort(), MYSQL_TEST_URL);
    await assert.rejects(openMysql(url), (err: unknown) => {
      assert.ok(isSmartholdError(err, 'SMARTHOLD_DATABASE'), String(err));
      assert.equal(err.key, 'store.database');
      assert.ok(!err.message.includes('s3cret'), err.message);
      assert.match(err.message, /^cannot connect to mysql:\/\/[^:]+:\*\*\*@.*ECONNREFUSED/);
      return true;
    });
  });

  test('a wrong password: SMARTHOLD_DATABASE, access denied, password redacted', async () => {
    const url = urlWith('wr0ng-s3cret', mydb.name, undefined, MYSQL_TEST_URL);
    await assert.rejects(openMysql(url), (err: unknown) => {
      assert.ok(isSmartholdError(err, 'SMARTHOLD_DATABASE'), String(err));
      assert.ok(!err.message.includes('wr0ng-s3cret'), err.message);
      assert.match(err.message, /^cannot connect to mysql:\/\/[^:]+:\*\*\*@.*Access denied/);
      return true;
    });
  });

  test('a database that does not exist: SMARTHOLD_DATABASE, naming it', async () => {
    const url = urlWith('', 'smarthold_no_such_db', undefined, MYSQL_TEST_URL);
    await assert.rejects(openMysql(url), (err: unknown) => {
      assert.ok(isSmartholdError(err, 'SMARTHOLD_DATABASE'), String(err));
      assert.match(err.message, /Unknown database 'smarthold_no_such_db'/);
      return true;
    });
  });
});

/** What the probe plugins saw. */
interface Seen {
  dialect?: string;
  ups: Record<string, number>;
}

/** A plugin with a table of messages seen (written in its data hook) and the given migrations. */
function probePlugin(seen: Seen, names: readonly string[]): PluginManifest {
  const migrations: Record<string, Migration> = {};
  for (const name of names) {
    migrations[name] = {
      async up(db) {
        seen.ups[`probe:${name}`] = (seen.ups[`probe:${name}`] ?? 0) + 1;
        if (name === '001_init')
          await db.schema
            .createTable('pg_probe_seen')
            .addColumn('sender', 'text', (c) => c.notNull())
            .addColumn('recipients', 'integer', (c) => c.notNull())
            .addColumn('seen_at', 'bigint', (c) => c.notNull())
            .execute();
        else await db.schema.alterTable('pg_probe_seen').addColumn('subject', 'text').execute();
      },
    };
  }
  return definePlugin({
    name: 'pg-probe',
    version: '1.0.0',
    core: '^1',
    async setup(ctx) {
      seen.dialect = ctx.data.dialect;
      await ctx.data.migrate(migrations);
      ctx.hook('data', async (tx) => {
        await ctx.data.db
          .insertInto('pg_probe_seen')
          .values({
            sender: tx.from,
            recipients: tx.to.length,
            seen_at: 2 ** 41 + tx.size,
            ...(names.includes('002_subject') ? { subject: tx.headers.first('subject') } : {}),
          })
          .execute();
        return verdict.next();
      });
    },
  });
}

/** Another plugin whose first migration has the same name: tracking is per plugin. */
function otherPlugin(seen: Seen): PluginManifest {
  return definePlugin({
    name: 'pg-other',
    version: '1.0.0',
    core: '^1',
    async setup(ctx) {
      await ctx.data.migrate({
        '001_init': {
          async up(db) {
            seen.ups['other:001_init'] = (seen.ups['other:001_init'] ?? 0) + 1;
            await db.schema.createTable('pg_other_things').addColumn('x', 'integer').execute();
          },
        },
      });
    },
  });
}

/** A shared database the smarthold suite runs on. */
interface Backend {
  readonly name: string;
  readonly dialect: PluginDatabase['dialect'];
  readonly skip: false | string;
  readonly adminUrl: string;
  create(): Promise<TestDatabase>;
  open(url: string): Promise<PluginDatabase>;
  /** Lists the current database's tables, by name. */
  readonly tablesSql: ReturnType<typeof sql<{ name: string }>>;
}

const BACKENDS: readonly Backend[] = [
  {
    name: 'PostgreSQL',
    dialect: 'postgres',
    skip: pgSkip,
    adminUrl: PG_TEST_URL,
    create: createPgTestDatabase,
    open: (url) => openPostgres(url, 1),
    tablesSql: sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
          WHERE table_schema = 'public' ORDER BY table_name`,
  },
  {
    name: 'MySQL',
    dialect: 'mysql',
    skip: mySkip,
    adminUrl: MYSQL_TEST_URL,
    create: createMysqlTestDatabase,
    open: (url) => openMysql(url, 1),
    tablesSql: sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
          WHERE table_schema = database() ORDER BY table_name`,
  },
];

for (const backend of BACKENDS)
  describe(`smarthold with [store] database on ${backend.name}`, { skip: backend.skip }, () => {
    let shared: TestDatabase;
    before(async () => {
      shared = await backend.create();
    });
    after(() => shared.drop());

    /** Runs `fn` on a connection of the test's own to the test database. */
    async function inDb<T>(fn: (db: Kysely<unknown>) => Promise<T>): Promise<T> {
      const d = await backend.open(shared.url);
      try {
        return await fn(d.db);
      } finally {
        await d.close();
      }
    }

    const tables = (): Promise<string[]> =>
      inDb(async (db) => (await backend.tablesSql.execute(db)).rows.map((r) => r.name));
    const migrationsOf = (table: string): Promise<string[]> =>
      inDb(async (db) =>
        (
          await sql<{ name: string }>`SELECT name FROM ${sql.table(table)} ORDER BY name`.execute(db)
        ).rows.map((r) => r.name),
      );
    const rows = (): Promise<unknown[]> =>
      inDb(async (db) => (await sql`SELECT * FROM pg_probe_seen ORDER BY sender`.execute(db)).rows);

    const seen: Seen = { ups: {} };

    test('a plugin migrates its tables there and writes a row from its data hook', async () => {
      const t = await startTestSmarthold({
        plugins: [probePlugin(seen, ['001_init']), otherPlugin(seen)],
        config: { plugins: ['pg-probe', 'pg-other'], store: { database: shared.url } },
      });
      try {
        assert.equal(seen.dialect, backend.dialect);
        const msg = 'From: a@example.org\r\nSubject: to the database\r\n\r\nHello.\r\n';
        const r = await t.send('a@example.org', ['b@example.net', 'c@example.net'], msg);
        assert.equal(r.code, 250, r.text);
        // The queue itself stays in the local store: the message is delivered from there.
        await t.waitForState(queueIdOf(r) ?? '', ['delivered']);
        const got = await rows();
        assert.equal(got.length, 1);
        const row = got[0] as { sender: string; recipients: number; seen_at: unknown };
        assert.equal(row.sender, 'a@example.org');
        assert.equal(row.recipients, 2);
        assert.equal(typeof row.seen_at, 'number', 'bigint reads back as a number');
        assert.ok((row.seen_at as number) > 2 ** 41);
      } finally {
        await t.stop();
      }
      assert.deepEqual(seen.ups, { 'probe:001_init': 1, 'other:001_init': 1 });
      assert.deepEqual(await migrationsOf('smarthold_migrations_pg_probe'), ['001_init']);
      assert.deepEqual(await migrationsOf('smarthold_migrations_pg_other'), ['001_init']);
      assert.deepEqual(await tables(), [
        'pg_other_things',
        'pg_probe_seen',
        'smarthold_migrations_pg_other',
        'smarthold_migrations_pg_other_lock',
        'smarthold_migrations_pg_probe',
        'smarthold_migrations_pg_probe_lock',
      ]);
    });

    test('a second start (another store directory, as another node) runs only migrations it has not run', async () => {
      const t = await startTestSmarthold({
        plugins: [probePlugin(seen, ['001_init', '002_subject']), otherPlugin(seen)],
        config: { plugins: ['pg-probe', 'pg-other'], store: { database: shared.url } },
      });
      try {
        const r = await t.send('d@example.org', ['e@example.net'], 'Subject: second\r\n\r\nx\r\n');
        assert.equal(r.code, 250, r.text);
      } finally {
        await t.stop();
      }
      assert.deepEqual(seen.ups, { 'probe:001_init': 1, 'other:001_init': 1, 'probe:002_subject': 1 });
      assert.deepEqual(await migrationsOf('smarthold_migrations_pg_probe'), ['001_init', '002_subject']);
      assert.deepEqual(await migrationsOf('smarthold_migrations_pg_other'), ['001_init']);
      const got = (await rows()) as { sender: string; subject: string | null }[];
      assert.deepEqual(
        got.map((x) => [x.sender, x.subject]),
        [
          ['a@example.org', null],
          ['d@example.org', 'second'],
        ],
      );
    });

    test('a database that cannot be reached stops start-up with SMARTHOLD_DATABASE', async () => {
      await assert.rejects(
        startTestSmarthold({
          config: {
            store: { database: urlWith('s3cret', 'postgres', await closedPort(), backend.adminUrl) },
          },
        }),
        (err: unknown) => isSmartholdError(err, 'SMARTHOLD_DATABASE') && !err.message.includes('s3cret'),
      );
    });
  });
