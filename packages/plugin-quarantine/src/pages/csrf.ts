/**
 * pages/csrf.ts — signing and checking the pages' forms.
 *
 * Every form carries a hidden field `csrf` = base64url(HMAC-SHA256(secret,
 * token + "\n" + form name)): a POST acts only with the field its own page
 * gave out, for that token and that form (the field of the "email me a link"
 * form cannot delete mail). Links in mail are fetched by security gateways,
 * so no GET acts; a POST needs this field, which only the page shows.
 *
 * The secret is one row of `quarantine_settings` (name `pages_secret`, 32
 * random bytes, base64url), created on first use with insert-or-ignore and
 * then re-read, so that nodes sharing one PostgreSQL database all use the
 * row that won (PostgreSQL or MySQL). It is read once per process. This module does not render
 * forms or answer requests.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Dialect, QuarantineDatabase } from '../db.js';
import { keepExisting } from '../sql.js';

/** The name of the secret's row in `quarantine_settings`. */
export const SECRET_NAME = 'pages_secret';

/** The CSRF field of a form: base64url HMAC-SHA256 of `token + "\n" + form`. */
export function formMac(secret: Buffer, token: string, form: string): string {
  return createHmac('sha256', secret).update(`${token}\n${form}`).digest('base64url');
}

/** Compares a submitted field with the expected one in constant time. */
export function sameMac(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads the shared secret, creating it first when no node has yet (insert-or-ignore, then read). */
export async function loadSecret(db: Kysely<QuarantineDatabase>, dialect: Dialect): Promise<Buffer> {
  await db
    .insertInto('quarantine_settings')
    .values({ name: SECRET_NAME, value: randomBytes(32).toString('base64url') })
    .$call(keepExisting(dialect, 'name'))
    .execute();
  const row = await db
    .selectFrom('quarantine_settings')
    .select('value')
    .where('name', '=', SECRET_NAME)
    .executeTakeFirstOrThrow();
  const secret = Buffer.from(row.value, 'base64url');
  if (secret.length < 16) throw new Error(`quarantine_settings.${SECRET_NAME} is shorter than 16 bytes`);
  return secret;
}

/** Signs and checks form fields with the shared secret, loaded on first use. */
export class FormSigner {
  private secret: Promise<Buffer> | undefined;

  constructor(
    private readonly db: Kysely<QuarantineDatabase>,
    private readonly dialect: Dialect,
  ) {}

  private key(): Promise<Buffer> {
    // A failed read (database down) is retried at the next request, not cached.
    this.secret ??= loadSecret(this.db, this.dialect).catch((err: unknown) => {
      this.secret = undefined;
      throw err;
    });
    return this.secret;
  }

  /** The field for a form of a page; `token` is '' for pages without one (/q/access). */
  async sign(token: string, form: string): Promise<string> {
    return formMac(await this.key(), token, form);
  }

  /** The fields for several forms of one page, by form name. */
  async signAll<F extends string>(token: string, forms: readonly F[]): Promise<Record<F, string>> {
    const secret = await this.key();
    const out = {} as Record<F, string>;
    for (const f of forms) out[f] = formMac(secret, token, f);
    return out;
  }

  /** True when `given` is the field for this token and form. */
  async verify(token: string, form: string, given: unknown): Promise<boolean> {
    return sameMac(formMac(await this.key(), token, form), given);
  }
}
