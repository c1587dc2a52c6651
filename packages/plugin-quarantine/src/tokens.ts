/**
 * tokens.ts — capability tokens for links in replies, notices and pages.
 *
 * 128 random bits, written base64url (22 characters) in URLs; only their
 * sha256 is stored, so a copy of the database gives no working link. A token
 * names its kind and subject; several may be live for one subject (each
 * notice mints one), and rotating deletes them all. Checking is a lookup by
 * hash plus an expiry test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Kysely, type SqlBool, sql } from 'kysely';
import type { QuarantineDatabase } from './db.js';

export type TokenKind = 'message' | 'sender' | 'recipient' | 'confirm' | 'unsubscribe';

/** A token as found by {@link Tokens.check}. */
export interface TokenInfo {
  readonly kind: TokenKind;
  readonly subject: string;
}

/** The shape of a token in a URL: base64url, 22 characters (128 bits). */
export const TOKEN_RE = /^[A-Za-z0-9_-]{22}$/;

/** sha256 of a token, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class Tokens {
  constructor(
    private readonly db: Kysely<QuarantineDatabase>,
    private readonly now: () => number,
  ) {}

  /** Mints a token for a subject; `ttlMs` 0 lives as long as the subject. Returns the token (shown once). */
  async mint(kind: TokenKind, subject: string, ttlMs: number): Promise<string> {
    const token = randomBytes(16).toString('base64url');
    const at = this.now();
    await this.db
      .insertInto('quarantine_tokens')
      .values({ hash: hashToken(token), kind, subject, created_at: at, expires_at: ttlMs ? at + ttlMs : 0 })
      .execute();
    return token;
  }

  /** The kind and subject of a live token, or undefined (unknown, malformed or expired). */
  async check(token: string, kind?: TokenKind): Promise<TokenInfo | undefined> {
    if (!TOKEN_RE.test(token)) return undefined;
    const row = await this.db
      .selectFrom('quarantine_tokens')
      .select(['kind', 'subject', 'expires_at'])
      .where('hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.expires_at && row.expires_at <= this.now()) return undefined;
    if (kind !== undefined && row.kind !== kind) return undefined;
    return { kind: row.kind as TokenKind, subject: row.subject };
  }

  /** Deletes every token of a subject (rotation: old links stop working). Returns how many. */
  async revoke(kind: TokenKind, subject: string): Promise<number> {
    const r = await this.db
      .deleteFrom('quarantine_tokens')
      .where('kind', '=', kind)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Live tokens of a kind whose subject starts with `prefix`, newest first (the admin page's pending confirmations). */
  async live(
    kind: TokenKind,
    prefix: string,
    limit: number,
  ): Promise<{ subject: string; expiresAt: number }[]> {
    const pattern = `${prefix.replace(/[!%_]/g, '!$&')}%`;
    const rows = await this.db
      .selectFrom('quarantine_tokens')
      .select(['subject', 'expires_at'])
      .where('kind', '=', kind)
      .where(sql<SqlBool>`subject like ${pattern} escape '!'`)
      .where((eb) => eb.or([eb('expires_at', '=', 0), eb('expires_at', '>', this.now())]))
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ subject: r.subject, expiresAt: r.expires_at }));
  }

  /** Deletes expired tokens. */
  async expire(): Promise<number> {
    const r = await this.db
      .deleteFrom('quarantine_tokens')
      .where('expires_at', '>', 0)
      .where('expires_at', '<=', this.now())
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
