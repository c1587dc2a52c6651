/**
 * pages/admin.ts — the admin page's door: signing in and out, and the check
 * every admin route makes first. Registered only when `[plugin.quarantine.admin]
 * htpasswd` is set; otherwise /q/admin is the neutral 404 like any unknown path.
 *
 * Routes (under the pages' /q prefix):
 *   GET  /q/admin/login        the sign-in form
 *   POST /q/admin/login        checks user and password (htpasswd.ts), starts a
 *                              session (session.ts), 303 to /q/admin
 *   POST /q/admin/logout       ends the session, removes the cookie
 *   GET  /q/admin, /q/admin/sender, /q/admin/recipient and their POSTs: the
 *                              look-up pages (admin-lookup.ts)
 *   POST /q/admin/{sender,recipient}/held, GET and POST .../all: releasing
 *                              and deleting held mail (admin-held.ts)
 *
 * Sign-in attempts are limited per client IP (limiter.ts) before bcrypt runs,
 * and a wrong password and an unknown user get the same answer in the same
 * time. A session is valid while its row lives, its user is still in the
 * htpasswd file with the same entry, and it has not expired. Without one, a
 * GET is sent to the sign-in form and a POST is refused. Every POST needs its
 * form's CSRF field: the sign-in form's is signed for the empty token (like
 * /q/access), the others for the session, so a field from one session is
 * useless in another. Sign-ins, failures and changes are logged with the
 * user's name. Also what the admin's route modules share: the session's
 * form names, the `a` parameter (where `<>` is the null sender) and the
 * Post/Redirect/Get back to an address's page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { key } from '../records.js';
import { field } from './body.js';
import type { HtpasswdFile } from './htpasswd.js';
import { errorPage, formOk, type PageKit } from './kit.js';
import { RateLimiter } from './limiter.js';
import { type AdminSession, AdminSessions, cookieOf, SESSION_COOKIE, sessionCookie } from './session.js';
import { rootOf } from './view.js';

/** What the admin page needs besides the pages' kit. */
export interface AdminOptions {
  readonly htpasswd: HtpasswdFile;
  /** How long a session lasts. */
  readonly sessionMs: number;
  /** Sign-in attempts per client IP per ten minutes. */
  readonly loginAttempts: number;
  /** True when the pages are served over https (the cookie is then Secure). */
  readonly secureCookie: () => boolean;
  /** Where sign-ins and changes are logged (the plugin's logger: the HTTP logger drops info lines). */
  readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly now?: () => number;
}

/** The admin page's state, shared by its route modules. */
export interface AdminKit {
  readonly sessions: AdminSessions;
  readonly htpasswd: HtpasswdFile;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly loginLimit: RateLimiter;
  readonly secureCookie: () => boolean;
}

const TEN_MINUTES = 10 * 60_000;

/** The token the session's forms are signed for (never a page token: those are 22 base64url characters). */
export const formToken = (s: AdminSession): string => `admin ${s.id}`;

/** The session's form of the per-message release and delete buttons (admin-held.ts). */
export const HELD_FORM = 'held';
/** The session's form that confirms acting on all of an address's held mail (admin-held.ts). */
export const HELD_ALL_FORM = 'held-all';

/** Longest search text and address accepted (RFC 5321 §4.5.3.1 caps a path at 256 octets; 320 is the usual bound). */
export const MAX_TEXT = 320;
/** How the null sender is written, in the search and in the `a` parameter (RFC 5321 §4.5.5). */
export const NULL_SENDER = '<>';

/** Whose page: a sender's or a recipient's. */
export type Kind = 'sender' | 'recipient';

/** What every admin page shows in its bar: who is signed in, and the sign-out form's field. */
export async function barOf(kit: PageKit, s: AdminSession) {
  return { user: s.user, csrf: await kit.forms.sign(formToken(s), 'logout') };
}

/**
 * The `a` parameter (query or form): a trimmed, lower-cased address; for a
 * sender, `<>` is the null sender (''). Undefined when missing, too long, or
 * `<>` for a recipient.
 */
export function addressParam(req: FastifyRequest, kind: Kind): string | undefined {
  const a = key(field(req.method === 'POST' ? req.body : req.query, 'a') ?? '');
  if (a === NULL_SENDER) return kind === 'sender' ? '' : undefined;
  return a === '' || a.length > MAX_TEXT ? undefined : a;
}

/** An address as pages show it and send it back in `a`: the null sender is `<>`. */
export const shown = (address: string): string => address || NULL_SENDER;

/** The relative way from the request's path to an admin path ("admin/login" from /q/admin, "../admin/login" below it). */
export function adminPath(req: FastifyRequest, sub = ''): string {
  return `${rootOf(req.url)}admin${sub}`;
}

/** Post/Redirect/Get back to an address's page, saying what was done (and to how many). */
export function seeDone(
  req: FastifyRequest,
  reply: FastifyReply,
  kind: Kind,
  address: string,
  done: string,
  n?: number,
): FastifyReply {
  const q = new URLSearchParams({ a: shown(address), done, ...(n === undefined ? {} : { n: String(n) }) });
  return reply.redirect(`${adminPath(req, `/${kind}`)}?${q.toString()}`, 303);
}

/** The request's live session, or undefined. A session whose user left the file or changed password is ended. */
export async function sessionOf(admin: AdminKit, req: FastifyRequest): Promise<AdminSession | undefined> {
  const s = await admin.sessions.find(cookieOf(req.headers.cookie, SESSION_COOKIE));
  if (s === undefined) return undefined;
  if ((await admin.htpasswd.tagOf(s.user)) !== s.tag) {
    await admin.sessions.end(s.id);
    admin.log.info({ admin: s.user }, 'admin session ended: user removed or password changed');
    return undefined;
  }
  return s;
}

/**
 * The session, or (having answered) undefined: a GET goes to the sign-in
 * form, a POST is refused with 403.
 */
export async function requireSession(
  kit: PageKit,
  admin: AdminKit,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<AdminSession | undefined> {
  const s = await sessionOf(admin, req);
  if (s !== undefined) return s;
  if (req.method === 'POST') await errorPage(kit, reply, 403, 'signed-out');
  else await reply.redirect(adminPath(req, '/login'), 303);
  return undefined;
}

async function showLogin(
  kit: PageKit,
  reply: FastifyReply,
  data: { user?: string; error?: boolean } = {},
  status = 200,
) {
  return kit.view.send(
    reply,
    'admin-login',
    { csrf: await kit.forms.sign('', 'admin-login'), user: data.user ?? '', failed: data.error ?? false },
    status,
  );
}

async function login(kit: PageKit, admin: AdminKit, req: FastifyRequest, reply: FastifyReply) {
  if (!(await formOk(kit, req, '', 'admin-login'))) return errorPage(kit, reply, 403, 'csrf');
  if (!admin.loginLimit.take(req.ip)) {
    admin.log.warn({ ip: req.ip }, 'admin sign-in refused: too many attempts');
    return errorPage(kit, reply, 429, 'too-many');
  }
  const user = (field(req.body, 'user') ?? '').trim();
  const password = field(req.body, 'password') ?? '';
  const tag = await admin.htpasswd.tagOf(user);
  if (!(await admin.htpasswd.verify(user, password)) || tag === undefined) {
    admin.log.warn({ admin: user.slice(0, 64), ip: req.ip }, 'admin sign-in failed');
    return showLogin(kit, reply, { user, error: true }, 401);
  }
  const cookie = await admin.sessions.create(user, tag);
  admin.log.info({ admin: user, ip: req.ip }, 'admin signed in');
  return reply
    .header(
      'set-cookie',
      sessionCookie(cookie, Math.floor(admin.sessions.ttlMs / 1000), admin.secureCookie()),
    )
    .redirect(adminPath(req), 303);
}

async function logout(kit: PageKit, admin: AdminKit, req: FastifyRequest, reply: FastifyReply) {
  const s = await requireSession(kit, admin, req, reply);
  if (s === undefined) return reply;
  if (!(await formOk(kit, req, formToken(s), 'logout'))) return errorPage(kit, reply, 403, 'csrf');
  await admin.sessions.end(s.id);
  admin.log.info({ admin: s.user }, 'admin signed out');
  return reply
    .header('set-cookie', sessionCookie('', 0, admin.secureCookie()))
    .redirect(adminPath(req, '/login'), 303);
}

/** Registers sign-in and sign-out (under the pages' /q prefix); returns what the look-up routes need. */
export function adminRoutes(app: FastifyInstance, kit: PageKit, opts: AdminOptions): AdminKit {
  const now = opts.now ?? Date.now;
  const admin: AdminKit = {
    sessions: new AdminSessions(kit.service.records.db, kit.forms, now, opts.sessionMs),
    htpasswd: opts.htpasswd,
    log: opts.log,
    loginLimit: new RateLimiter({ max: opts.loginAttempts, windowMs: TEN_MINUTES, maxKeys: 10_000, now }),
    secureCookie: opts.secureCookie,
  };
  app.get('/admin/login', async (req, reply) => {
    if ((await sessionOf(admin, req)) !== undefined) return reply.redirect(adminPath(req), 303);
    return showLogin(kit, reply);
  });
  app.post('/admin/login', (req, reply) => login(kit, admin, req, reply));
  app.post('/admin/logout', (req, reply) => logout(kit, admin, req, reply));
  return admin;
}
