/**
 * pages/session.ts — the admin page's sessions: a signed cookie naming a
 * session row.
 *
 * Signing in makes a random 128-bit session id; the cookie is
 * `smarthold_admin=ID.MAC`, MAC being the pages' HMAC (csrf.ts, the shared
 * secret) of the id for the pseudo-form "admin-session", so a forged or
 * guessed cookie is refused before the database is asked. The row
 * (`quarantine_admin_sessions`, only the sha256 of the id) names the user,
 * the fingerprint of the user's htpasswd entry and the expiry; signing out
 * deletes it, so a copied cookie stops working too, on every node sharing the
 * database. The cookie is HttpOnly, SameSite=Strict, with Max-Age, and Secure
 * when the public URL is https. It has no Path attribute: the browser then
 * scopes it to the directory of the sign-in URL (RFC 6265 §5.1.4), /q/admin,
 * or the same path under whatever prefix a reverse proxy serves the pages at.
 *
 * It does not check passwords (htpasswd.ts) or answer requests (admin.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { QuarantineDatabase } from '../db.js';
import type { FormSigner } from './csrf.js';

/** The cookie's name. */
export const SESSION_COOKIE = 'smarthold_admin';

/** The pseudo-form whose MAC signs a session id (no page renders a form by this name). */
const SESSION_FORM = 'admin-session';

/** A session id: 128 random bits, base64url. */
const ID_RE = /^[A-Za-z0-9_-]{22}$/;

/** A live session. */
export interface AdminSession {
  /** The session id (secret: only in the cookie). */
  readonly id: string;
  readonly user: string;
  /** The htpasswd entry's fingerprint at sign-in. */
  readonly tag: string;
  readonly expiresAt: number;
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or undefined. */
export function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A Set-Cookie value for the session cookie; `maxAgeS` 0 removes it. */
export function sessionCookie(value: string, maxAgeS: number, secure: boolean): string {
  const attrs = [`${SESSION_COOKIE}=${value}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${String(maxAgeS)}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

const hashId = (id: string): string => createHash('sha256').update(id).digest('hex');

/** Makes, finds and ends admin sessions. */
export class AdminSessions {
  constructor(
    private readonly db: Kysely<QuarantineDatabase>,
    private readonly forms: FormSigner,
    private readonly now: () => number,
    /** How long a session lasts, in milliseconds. */
    readonly ttlMs: number,
  ) {}

  /** Starts a session for a user; returns the cookie value. Expired sessions are swept on the way. */
  async create(user: string, tag: string): Promise<string> {
    const now = this.now();
    await this.db.deleteFrom('quarantine_admin_sessions').where('expires_at', '<=', now).execute();
    const id = randomBytes(16).toString('base64url');
    await this.db
      .insertInto('quarantine_admin_sessions')
      .values({ hash: hashId(id), username: user, tag, created_at: now, expires_at: now + this.ttlMs })
      .execute();
    return `${id}.${await this.forms.sign(id, SESSION_FORM)}`;
  }

  /** The live session a cookie value names, or undefined (malformed, forged, ended or expired). */
  async find(value: string | undefined): Promise<AdminSession | undefined> {
    const [id = '', mac, ...rest] = (value ?? '').split('.');
    if (!ID_RE.test(id) || rest.length > 0 || !(await this.forms.verify(id, SESSION_FORM, mac))) {
      return undefined;
    }
    const row = await this.db
      .selectFrom('quarantine_admin_sessions')
      .select(['username', 'tag', 'expires_at'])
      .where('hash', '=', hashId(id))
      .executeTakeFirst();
    if (row === undefined || row.expires_at <= this.now()) return undefined;
    return { id, user: row.username, tag: row.tag, expiresAt: row.expires_at };
  }

  /** Ends a session (signing out). */
  async end(id: string): Promise<void> {
    await this.db.deleteFrom('quarantine_admin_sessions').where('hash', '=', hashId(id)).execute();
  }
}
