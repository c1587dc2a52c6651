/**
 * store/migrations.ts — the queue schema, as Kysely migrations.
 *
 * Written with Kysely's schema builder only, so the same migrations run on
 * SQLite and PostgreSQL. Times are milliseconds since the epoch (bigint on
 * PostgreSQL). Add migrations; never edit one that has shipped.
 */
import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

/** The SQL dialect a migration runs on (identity columns differ). */
export type Dialect = 'sqlite' | 'postgres';

const m001 = (dialect: Dialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('messages')
      .addColumn('queue_id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('arrival_time', 'bigint', (c) => c.notNull())
      .addColumn('sender', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('client_address', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('client_helo', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('auth_user', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('origin', 'text', (c) => c.notNull().defaultTo('smtp'))
      .addColumn('results', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('trace', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
    await db.schema
      .createTable('recipients')
      .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) =>
        dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
      )
      .addColumn('queue_id', 'varchar(32)', (c) =>
        c.notNull().references('messages.queue_id').onDelete('cascade'),
      )
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('delay_reason', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('relay', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('dsn', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('recipients_due')
      .on('recipients')
      .columns(['state', 'next_attempt_at'])
      .execute();
    await db.schema.createIndex('recipients_queue_id').on('recipients').column('queue_id').execute();
    await sql`select 1`.execute(db);
  },
});

/** 002: when a delay warning was queued for a recipient (0: none yet), so it is sent once. */
const m002: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('recipients')
      .addColumn('delay_warned_at', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};

/**
 * 003: bodies stored with their message (a small body that goes to delivery:
 * one fsync of the write-ahead log makes body and records durable together,
 * instead of a spool file's create, fsync and unlink). Deleted with it.
 */
const m003 = (dialect: Dialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('bodies')
      .addColumn('queue_id', 'varchar(32)', (c) =>
        c.primaryKey().references('messages.queue_id').onDelete('cascade'),
      )
      .addColumn('data', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
      .execute();
  },
});

/** Migrations by name, in order. */
export function queueMigrations(dialect: Dialect): MigrationProvider {
  return {
    getMigrations: () =>
      Promise.resolve({
        '001_queue': m001(dialect),
        '002_delay_warned': m002,
        '003_bodies': m003(dialect),
      }),
  };
}
