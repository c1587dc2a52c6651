/**
 * db.ts — the quarantine's tables: types and migrations.
 *
 * Written with Kysely's schema builder only, so the same migrations run on
 * the local SQLite store, on PostgreSQL and on MySQL/MariaDB. Times are
 * milliseconds since the epoch in bigint columns (read back as numbers on
 * all three). Tables carry the plugin's prefix. Shipped migrations are never
 * edited: add a new one. (MySQL support came later; its column types are
 * chosen in `ColumnTypes`, and the SQLite and PostgreSQL statements are the
 * ones that shipped.)
 *
 * On MySQL a `text` column cannot be a key or be indexed without a prefix
 * length, and cannot take a literal default: indexed text is `varchar(N)`
 * (320 for addresses, RFC 5321's 64 + 1 + 255; with utf8mb4 every index
 * stays under InnoDB's 3072 bytes), defaults are expressions (`('')`,
 * MySQL 8.0.13+ and MariaDB), lists of addresses and rules are
 * `mediumtext` (a `text` holds only 64 KB). Tables are InnoDB, utf8mb4 with
 * the binary collation, so comparisons and keys are exact as on SQLite and
 * PostgreSQL whatever the server's default collation (`_ci` ones would
 * make "Bob" and "bob", or "é" and "e", the same key).
 */
import type { PluginData } from '@smarthold/core';
import { type CreateTableBuilder, type Expression, type Kysely, type Migration, sql } from 'kysely';

/** The SQL dialects the tables live on. */
export type Dialect = PluginData['dialect'];

/** Why and for whom a message is held (one row per held message; the queue keeps the bytes). */
export interface HeldTable {
  queue_id: string;
  created_at: number;
  sender: string;
  /** The sender lower-cased ('' for <>). */
  sender_key: string;
  origin_ip: string;
  subject: string;
  size: number;
  score: number;
  threshold: number;
  scanner: string;
  /** JSON array of rule names. */
  rules: string;
  /** Why it is held: the matrix cell and the heuristics that applied (e.g. "ours-filtered, sender told"). */
  reason: string;
  /** 'reject' (the sender was given the release URL at end of DATA) or 'silent'. */
  action: string;
  /** JSON array of the addresses it is held for. */
  recipients: string;
  /** held, released, discarded, expired. */
  state: string;
  state_at: number;
  /** Spammy messages quoting this message's link let through so far. */
  free_passes: number;
}

/** Capability tokens: only their sha256 is stored. */
export interface TokenTable {
  hash: string;
  /** message, sender, recipient, confirm, unsubscribe. */
  kind: string;
  /** A queue id (message), an address (sender, recipient, unsubscribe), or "address\nnew-address" (confirm). */
  subject: string;
  created_at: number;
  /** 0: lives as long as its subject. */
  expires_at: number;
}

export interface SenderTable {
  address: string;
  /** quarantine, discard, bounce. */
  action: string;
  /** Days between notifications from one IP; null: the configured default. */
  renotify_days: number | null;
  spam_count: number;
  /** Spammy messages discarded by the sender's choice (every Nth is kept). */
  discarded_count: number;
  first_seen: number;
  last_seen: number;
}

/** When a sender was last told from one sending IP. */
export interface SenderNoticeTable {
  address: string;
  ip: string;
  notified_at: number;
}

export interface RecipientTable {
  address: string;
  /** hold, drop, redirect. */
  action: string;
  /** The confirmed redirect target (with action redirect). */
  redirect_to: string | null;
  spam_count: number;
  /** Messages held for the recipient since the last letter. */
  held_since_notice: number;
  last_notified_at: number;
  first_seen: number;
  last_seen: number;
}

/** One spammy message seen, per sender and recipient (history for reports, trimmed by age). */
export interface EventTable {
  at: number;
  queue_id: string;
  sender: string;
  recipient: string;
  ip: string;
  /** What happened: held, rejected, discarded, passed, redirected, bounced, kept. */
  outcome: string;
}

/**
 * Addresses that unsubscribed from mail a page sends on a visitor's request
 * (access links, redirect confirmations): one row per address, kept until an
 * operator clears it (`smarthold quarantine prefs ADDRESS --set unsubscribed=no`).
 */
export interface UnsubscribedTable {
  address: string;
  at: number;
  /** How: one-click (RFC 8058 POST), form (the page's button) or operator (the CLI). */
  via: string;
}

/** Small settings shared by every node (e.g. the pages' form-signing secret). */
export interface SettingTable {
  name: string;
  value: string;
}

/** Signed-in admins (the admin page's sessions): only the sha256 of a session id is stored. */
export interface AdminSessionTable {
  hash: string;
  /** The htpasswd user. */
  username: string;
  /** Fingerprint of the user's htpasswd entry at sign-in: a changed password ends the session. */
  tag: string;
  created_at: number;
  expires_at: number;
}

export interface QuarantineDatabase {
  quarantine_settings: SettingTable;
  quarantine_admin_sessions: AdminSessionTable;
  quarantine_held: HeldTable;
  quarantine_tokens: TokenTable;
  quarantine_senders: SenderTable;
  quarantine_sender_notices: SenderNoticeTable;
  quarantine_recipients: RecipientTable;
  quarantine_events: EventTable;
  quarantine_unsubscribed: UnsubscribedTable;
}

/** The column types and table options that differ on MySQL (see the header). */
class ColumnTypes {
  constructor(private readonly dialect: Dialect) {}

  private get mysql(): boolean {
    return this.dialect === 'mysql';
  }

  /** Text that is a key or indexed: `varchar(length)` on MySQL. */
  key(length: number): 'text' | `varchar(${number})` {
    return this.mysql ? (`varchar(${String(length)})` as `varchar(${number})`) : 'text';
  }

  /** Text that may outgrow MySQL's 64 KB `text`. */
  get long(): 'text' | Expression<unknown> {
    return this.mysql ? sql`mediumtext` : 'text';
  }

  /** A default for a text column: an expression on MySQL. */
  textDefault(value: string): string | Expression<unknown> {
    return this.mysql ? sql`(${sql.lit(value)})` : value;
  }

  /** Table options: InnoDB, utf8mb4, exact comparisons on MySQL; nothing elsewhere. */
  table = <T extends CreateTableBuilder<string>>(b: T): T =>
    this.mysql
      ? (b.modifyEnd(sql`engine = InnoDB default character set utf8mb4 collate utf8mb4_bin`) as T)
      : b;
}

/**
 * The migrations for a dialect, in name order.
 *
 * @example
 * await ctx.data.migrate(quarantineMigrations(ctx.data.dialect));
 */
export function quarantineMigrations(dialect: Dialect): Record<string, Migration> {
  const t = new ColumnTypes(dialect);
  return {
    '001_init': {
      // Migrations see the database untyped: the types above describe the latest shape.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('quarantine_held')
          .$call(t.table)
          .addColumn('queue_id', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('sender', 'text', (c) => c.notNull())
          .addColumn('sender_key', t.key(320), (c) => c.notNull())
          .addColumn('origin_ip', 'text', (c) => c.notNull().defaultTo(t.textDefault('')))
          .addColumn('subject', 'text', (c) => c.notNull().defaultTo(t.textDefault('')))
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('score', 'double precision', (c) => c.notNull().defaultTo(0))
          .addColumn('threshold', 'double precision', (c) => c.notNull().defaultTo(0))
          .addColumn('scanner', 'text', (c) => c.notNull().defaultTo(t.textDefault('')))
          .addColumn('rules', t.long, (c) => c.notNull().defaultTo(t.textDefault('[]')))
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('recipients', t.long, (c) => c.notNull())
          .addColumn('state', t.key(16), (c) => c.notNull())
          .addColumn('state_at', 'bigint', (c) => c.notNull())
          .addColumn('free_passes', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createIndex('quarantine_held_sender')
          .on('quarantine_held')
          .columns(['sender_key', 'state'])
          .execute();
        await db.schema
          .createIndex('quarantine_held_state')
          .on('quarantine_held')
          .columns(['state', 'created_at'])
          .execute();
        await db.schema
          .createTable('quarantine_tokens')
          .$call(t.table)
          .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('kind', t.key(16), (c) => c.notNull())
          .addColumn('subject', t.key(641), (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createIndex('quarantine_tokens_subject')
          .on('quarantine_tokens')
          .columns(['kind', 'subject'])
          .execute();
        await db.schema
          .createTable('quarantine_senders')
          .$call(t.table)
          .addColumn('address', 'varchar(320)', (c) => c.primaryKey())
          .addColumn('action', 'text', (c) => c.notNull().defaultTo(t.textDefault('quarantine')))
          .addColumn('renotify_days', 'integer')
          .addColumn('spam_count', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('discarded_count', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('first_seen', 'bigint', (c) => c.notNull())
          .addColumn('last_seen', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('quarantine_sender_notices')
          .$call(t.table)
          .addColumn('address', 'varchar(320)', (c) => c.notNull())
          .addColumn('ip', 'varchar(64)', (c) => c.notNull())
          .addColumn('notified_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('quarantine_sender_notices_pk', ['address', 'ip'])
          .execute();
        await db.schema
          .createTable('quarantine_recipients')
          .$call(t.table)
          .addColumn('address', 'varchar(320)', (c) => c.primaryKey())
          .addColumn('action', 'text', (c) => c.notNull().defaultTo(t.textDefault('hold')))
          .addColumn('redirect_to', 'text')
          .addColumn('spam_count', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('held_since_notice', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('last_notified_at', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('first_seen', 'bigint', (c) => c.notNull())
          .addColumn('last_seen', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('quarantine_events')
          .$call(t.table)
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('queue_id', 'varchar(64)', (c) => c.notNull())
          .addColumn('sender', t.key(320), (c) => c.notNull())
          .addColumn('recipient', 'text', (c) => c.notNull())
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('quarantine_settings')
          .$call(t.table)
          .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('quarantine_events_at').on('quarantine_events').column('at').execute();
        await db.schema
          .createIndex('quarantine_events_sender')
          .on('quarantine_events')
          .columns(['sender', 'at'])
          .execute();
      },
    },
    '002_unsubscribed': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('quarantine_unsubscribed')
          .$call(t.table)
          .addColumn('address', 'varchar(320)', (c) => c.primaryKey())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('via', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '003_admin_sessions': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('quarantine_admin_sessions')
          .$call(t.table)
          .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('tag', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('quarantine_admin_sessions_expires')
          .on('quarantine_admin_sessions')
          .column('expires_at')
          .execute();
      },
    },
  };
}
