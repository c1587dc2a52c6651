// The plugin database (ctx.data): redaction, openPostgres and smarthold with
// `[store] database` on a real PostgreSQL (a fresh database per suite; the
// suites skip without PostgreSQL, and fail under SMARTHOLD_TEST_REQUIRE).
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
import { createPgTestDatabase, needPostgres, PG_TEST_URL, type PgTestDatabase } from '../testing/postgres.js';
import { queueIdOf } from '../testing/smtp-client.js';
import { openPluginDatabase, openPostgres, redactUrl } from './database.js';

const pgSkip = await needPostgres();

/** The admin URL with a password and another database name (trust auth ignores the password). */
function urlWith(password: string, database: string, port?: number): string {
  const u = new URL(PG_TEST_URL);
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
  test('a URL that is not postgres:// is refused by the loader, naming the key', () => {
    assert.throws(
      () => loadConfig(undefined, { store: { database: 'mysql://x' } }),
      (err: unknown) =>
        isSmartholdError(err, 'SMARTHOLD_CONFIG_INVALID') &&
        err.key === 'store.database' &&
        /store\.database: must be empty \(the local SQLite file\) or a postgres:\/\/ URL/.test(err.message),
    );
  });

  test('postgres:// and postgresql:// are accepted; empty means the queue SQLite database', async () => {
    assert.equal(
      loadConfig(undefined, { store: { database: 'postgresql://h/d' } }).config.store.database,
      'postgresql://h/d',
    );
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

describe('smarthold with [store] database on PostgreSQL', { skip: pgSkip }, () => {
  let pgdb: PgTestDatabase;
  before(async () => {
    pgdb = await createPgTestDatabase();
  });
  after(() => pgdb.drop());

  /** Runs `fn` on a connection of the test's own to the test database. */
  async function inPg<T>(fn: (db: Kysely<unknown>) => Promise<T>): Promise<T> {
    const d = await openPostgres(pgdb.url, 1);
    try {
      return await fn(d.db);
    } finally {
      await d.close();
    }
  }

  const tables = (): Promise<string[]> =>
    inPg(async (db) =>
      (
        await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
          WHERE table_schema = 'public' ORDER BY table_name`.execute(db)
      ).rows.map((r) => r.name),
    );
  const migrationsOf = (table: string): Promise<string[]> =>
    inPg(async (db) =>
      (await sql<{ name: string }>`SELECT name FROM ${sql.table(table)} ORDER BY name`.execute(db)).rows.map(
        (r) => r.name,
      ),
    );
  const rows = (): Promise<unknown[]> =>
    inPg(async (db) => (await sql`SELECT * FROM pg_probe_seen ORDER BY sender`.execute(db)).rows);

  const seen: Seen = { ups: {} };

  test('a plugin migrates its tables there and writes a row from its data hook', async () => {
    const t = await startTestSmarthold({
      plugins: [probePlugin(seen, ['001_init']), otherPlugin(seen)],
      config: { plugins: ['pg-probe', 'pg-other'], store: { database: pgdb.url } },
    });
    try {
      assert.equal(seen.dialect, 'postgres');
      const msg = 'From: a@example.org\r\nSubject: to pg\r\n\r\nHello.\r\n';
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
      config: { plugins: ['pg-probe', 'pg-other'], store: { database: pgdb.url } },
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
        config: { store: { database: urlWith('s3cret', 'postgres', await closedPort()) } },
      }),
      (err: unknown) => isSmartholdError(err, 'SMARTHOLD_DATABASE') && !err.message.includes('s3cret'),
    );
  });
});
