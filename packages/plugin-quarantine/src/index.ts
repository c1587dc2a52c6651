/**
 * index.ts — the `quarantine` plugin: manifest, setup, exports.
 *
 * Requires `sender-auth` (who the sender is, which recipients are filtered)
 * and `spam-scanner` (called only when the answer can change the outcome).
 * Provides `quarantine` (the QuarantineService: release, discard,
 * preferences, links) to other plugins, the pages and the CLI. Setup creates
 * its tables, checks its templates (and the admin page's htpasswd file when
 * `admin.htpasswd` is set), registers the data hook (hook.ts), the pages
 * (pages/) and the jobs (jobs.ts).
 *
 * @example
 * // smarthold.toml
 * // plugins = ["sender-auth", "bayes", "quarantine"]
 * // [plugin.quarantine]
 * // popular_threshold = 50
 */
import path from 'node:path';
import { definePlugin, type PluginManifest } from '@smarthold/core';
import type { Kysely } from 'kysely';
import { type QuarantineConfig, quarantineConfig } from './config.js';
import { quarantineMigrations, type QuarantineDatabase } from './db.js';
import { createDataHook } from './hook.js';
import { runExpiry, runReminders } from './jobs.js';
import { NoticeRenderer } from './notices/render.js';
import type { AdminOptions } from './pages/admin.js';
import type { Background } from './pages/kit.js';
import { HtpasswdFile } from './pages/htpasswd.js';
import { registerPages } from './pages/routes.js';
import { QuarantineService } from './service.js';

declare module '@smarthold/core' {
  interface Services {
    quarantine: QuarantineService;
  }
}

/** Things a test or an embedding program may replace. */
export interface QuarantinePluginOptions {
  /** [0, 100) for the random scan sample (default Math.random). */
  readonly dice?: () => number;
  /** Runs what the pages do after answering, such as mail a visitor asked for (default: a new one). */
  readonly background?: Background;
}

/** Name of the notices' From: when `notice.from` is empty. */
export function defaultNoticeFrom(hostname: string): string {
  return `Mail quarantine <postmaster@${hostname}>`;
}

/** The admin page's options, or undefined when it is off (no htpasswd file). Throws HtpasswdError for a bad file. */
async function adminOptions(
  cfg: QuarantineConfig['admin'],
  deps: Pick<AdminOptions, 'log' | 'now' | 'secureCookie'>,
): Promise<AdminOptions | undefined> {
  if (!cfg.htpasswd) return undefined;
  return {
    ...deps,
    htpasswd: await HtpasswdFile.open(path.resolve(cfg.htpasswd), deps.log),
    sessionMs: cfg.session_hours * 3_600_000,
    loginAttempts: cfg.login_attempts,
  };
}

/**
 * Builds the manifest; the default export is `quarantinePlugin()`.
 *
 * @example
 * await startSmarthold({ plugins: [quarantinePlugin({ dice: () => 99 })], config: { plugins: ['sender-auth', 'bayes', 'quarantine'] } });
 */
export function quarantinePlugin(
  opts: QuarantinePluginOptions = {},
): PluginManifest<typeof quarantineConfig> {
  return definePlugin({
    name: 'quarantine',
    version: '0.1.0',
    core: '^1.1',
    description:
      'the outbound-spam quarantine: decision matrix, holds, preferences, notices, release pages, expiry',
    config: quarantineConfig,
    requires: ['sender-auth', 'spam-scanner'],
    // Not called: listed so that a virus scanner's data hook (the clamav plugin
    // rejects infected mail) runs before this one, whatever the order in
    // `plugins`, and infected mail is refused before the quarantine holds it
    // or queues notices and redirects for it.
    optional: ['virus-scanner'],
    provides: ['quarantine'],
    async setup(ctx) {
      const cfg = ctx.config;
      await ctx.data.migrate(quarantineMigrations(ctx.data.dialect));
      const renderer = new NoticeRenderer({
        templatesDir: cfg.notice.templates ? path.resolve(cfg.notice.templates) : '',
        from: cfg.notice.from || defaultNoticeFrom(ctx.hostname),
        hostname: ctx.hostname,
        siteName: cfg.notice.site_name || ctx.hostname,
        now: () => ctx.clock.now(),
      });
      await renderer.check();
      const admin = await adminOptions(cfg.admin, {
        log: ctx.log,
        now: () => ctx.clock.now(),
        secureCookie: () => ctx.publicUrl.startsWith('https:'),
      });
      const auth = ctx.service('sender-auth');
      const scanner = ctx.service('spam-scanner');
      const learn = scanner.learn?.bind(scanner);
      const service = new QuarantineService({
        config: cfg,
        db: ctx.data.db as Kysely<QuarantineDatabase>,
        dialect: ctx.data.dialect,
        queue: ctx.queue,
        submit: (m) => ctx.submit(m),
        renderer,
        clock: ctx.clock,
        log: ctx.log,
        publicUrl: () => ctx.publicUrl,
        isFiltered: async (a) => (await auth.isFiltered(a)).filtered,
        learnDir: path.join(ctx.dataDir, 'learn'),
        ...(learn ? { learn } : {}),
      });
      ctx.provide('quarantine', service);
      ctx.hook(
        'data',
        createDataHook({
          service,
          auth,
          scanner,
          log: ctx.log,
          now: () => ctx.clock.now(),
          publicUrl: () => ctx.publicUrl,
          ...(opts.dice ? { dice: opts.dice } : {}),
        }),
      );
      ctx.http((app) =>
        registerPages(app, {
          service,
          siteName: cfg.notice.site_name || ctx.hostname,
          ...(cfg.notice.templates ? { templatesDir: path.resolve(cfg.notice.templates) } : {}),
          ...(admin ? { admin } : {}),
          ...(opts.background ? { background: opts.background } : {}),
          onClose: (fn) => {
            ctx.onClose(fn);
          },
        }),
      );
      ctx.job('expire', { everyMs: cfg.expire.every }, async () => {
        await runExpiry(service, ctx.clock.now(), ctx.log);
      });
      ctx.job('reminders', { everyMs: 3_600_000 }, async () => {
        await runReminders(service, ctx.clock.now());
      });
      ctx.job('learn', { everyMs: 60_000 }, async () => {
        await service.learnPending();
      });
    },
  });
}

export default quarantinePlugin();

export { quarantineConfig, type QuarantineConfig, type QuarantineConfigInput } from './config.js';
export { quarantineMigrations, type Dialect, type QuarantineDatabase } from './db.js';
export {
  QuarantineService,
  QuarantineInputError,
  isAddress,
  PAGE_REQUESTED,
  type Actor,
  type HeldMessage,
  type ServiceDeps,
} from './service.js';
export {
  decideRecipient,
  decideMessage,
  scanReason,
  resolveRedirect,
  cell,
  type RecipientDecision,
  type MessageDecision,
  type MessageFacts,
  type RecipientFacts,
} from './decide.js';
export {
  Records,
  type SenderPrefs,
  type RecipientPrefs,
  type SenderAction,
  type RecipientAction,
  type Unsubscribed,
  type UnsubscribeVia,
} from './records.js';
export { HtpasswdError, parseHtpasswd } from './pages/htpasswd.js';
export { Tokens, hashToken, TOKEN_RE, type TokenKind } from './tokens.js';
export { runExpiry, runReminders, type ExpiryReport } from './jobs.js';
export {
  NoticeRenderer,
  SHIPPED_MAIL_TEMPLATES,
  type NoticeKind,
  type NoticeData,
} from './notices/render.js';
