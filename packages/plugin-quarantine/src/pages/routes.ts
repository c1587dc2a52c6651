/**
 * pages/routes.ts — the quarantine's web pages under /q/: one encapsulated
 * Fastify plugin.
 *
 * Routes (each in its own module):
 *   GET  /q/m/TOKEN            message page; POST release | delete | access  (message.ts)
 *   GET  /q/s/TOKEN            sender page; POST release/delete selected or all,
 *                              settings, rotate, access                       (sender.ts)
 *   GET  /q/r/TOKEN            recipient page; POST deliver | delete | settings |
 *                              rotate | access                                (recipient.ts)
 *   GET  /q/r/TOKEN/discard    "discard spammy mail?"; POST (form or RFC 8058
 *                              one-click) sets drop                           (recipient.ts)
 *   GET  /q/c/TOKEN            confirm a redirect; POST confirms              (confirm.ts)
 *   GET  /q/u/TOKEN            stop page-requested mail to an address; POST (form
 *                              or RFC 8058 one-click) stops it                (unsubscribe.ts)
 *   GET  /q/access             "email me a link"; POST sends it              (access.ts)
 *   GET  /q/admin[/...]        the admin page, only when it is turned on     (admin.ts,
 *                              admin-lookup.ts, admin-held.ts)
 *   GET  /q/static/style.css   the stylesheet
 * Anything else under /q/ is the neutral 404 page.
 *
 * This module sets up what they share: form bodies only (urlencoded, plus
 * multipart for one-click), small body limits, the security headers on every
 * answer, the 404 and error pages. No GET or HEAD changes anything; every
 * POST that acts needs its form's CSRF field (csrf.ts). It does not decide
 * anything about mail: QuarantineService does.
 */
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { QuarantineService } from '../service.js';
import { accessRoutes } from './access.js';
import { type AdminOptions, adminRoutes } from './admin.js';
import { adminHeldRoutes } from './admin-held.js';
import { adminLookupRoutes } from './admin-lookup.js';
import { parseMultipart } from './body.js';
import { confirmRoutes } from './confirm.js';
import { FormSigner } from './csrf.js';
import { Background, errorPage, notFound, type PageKit } from './kit.js';
import { type AccessLimits, defaultLimits } from './limiter.js';
import { messageRoutes } from './message.js';
import { recipientRoutes } from './recipient.js';
import { senderRoutes } from './sender.js';
import { unsubscribeRoutes } from './unsubscribe.js';
import { PageView, SECURITY_HEADERS } from './view.js';

/** Forms are small: a sender page with every box checked stays far below this. */
const BODY_LIMIT = 64 * 1024;
/** A one-click POST is one short field. */
const MULTIPART_LIMIT = 8 * 1024;

export interface PagesDeps {
  readonly service: QuarantineService;
  /** Shown in every page's title. */
  readonly siteName: string;
  /** The operator's template directory (the notices' one): `pages/<name>.liquid` there overrides the shipped page. */
  readonly templatesDir?: string;
  /** Registers a function to run at shutdown before the database closes (ctx.onClose): waits for mail being queued. */
  readonly onClose?: (fn: () => Promise<void>) => void;
  /** Rate limits (default: {@link defaultLimits}); tests may pass their own. */
  readonly limits?: AccessLimits;
  /** Runs what the pages do after answering (default: a new {@link Background}); tests may pass one that waits. */
  readonly background?: Background;
  /** The admin page's users and settings; absent: no admin page (/q/admin is the 404 page). */
  readonly admin?: AdminOptions;
}

/** Body parsers of the pages' scope: forms, and multipart only as far as one-click needs. */
async function useFormBodies(scope: FastifyInstance): Promise<void> {
  scope.removeAllContentTypeParsers();
  await scope.register(formbody, { bodyLimit: BODY_LIMIT });
  scope.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'string', bodyLimit: MULTIPART_LIMIT },
    (req, body, done) => {
      done(null, parseMultipart(req.headers['content-type'] ?? '', String(body)));
    },
  );
}

/** Headers, 404 and error pages for everything under /q/. */
function useCommonAnswers(scope: FastifyInstance, kit: PageKit): void {
  scope.addHook('onSend', async (_req, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
    return payload;
  });
  scope.setNotFoundHandler((_req, reply) => notFound(kit, reply));
  scope.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'pages: request failed');
      return errorPage(kit, reply, 500, 'server');
    }
    return errorPage(kit, reply, status, status === 429 ? 'too-many' : 'bad-request');
  });
}

async function pagesPlugin(scope: FastifyInstance, deps: PagesDeps): Promise<void> {
  const view = await PageView.create({
    siteName: deps.siteName,
    ...(deps.templatesDir ? { templatesDir: deps.templatesDir } : {}),
  });
  const kit: PageKit = {
    service: deps.service,
    view,
    forms: new FormSigner(deps.service.records.db, deps.service.records.dialect),
    limits: deps.limits ?? defaultLimits(),
    background: deps.background ?? new Background(),
  };
  deps.onClose?.(() => kit.background.close());
  scope.addHook('onClose', () => kit.background.close());
  await useFormBodies(scope);
  useCommonAnswers(scope, kit);
  scope.get('/static/style.css', (_req, reply) =>
    reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(view.css),
  );
  messageRoutes(scope, kit);
  senderRoutes(scope, kit);
  recipientRoutes(scope, kit);
  confirmRoutes(scope, kit);
  unsubscribeRoutes(scope, kit);
  accessRoutes(scope, kit);
  if (deps.admin) {
    const admin = adminRoutes(scope, kit, deps.admin);
    adminLookupRoutes(scope, kit, admin);
    adminHeldRoutes(scope, kit, admin);
  }
}

/**
 * Registers the pages on the shared HTTP listener (inside ctx.http). Throws
 * at start-up when a page template is missing or malformed.
 *
 * @example
 * ctx.http((app) => registerPages(app, { service, siteName: 'Example ISP', onClose: (fn) => ctx.onClose(fn) }));
 */
export async function registerPages(app: FastifyInstance, deps: PagesDeps): Promise<void> {
  await app.register(pagesPlugin, { ...deps, prefix: '/q' });
}
