/**
 * pages/view.ts — the pages' templates and stylesheet, and the headers every
 * page carries.
 *
 * Templates are LiquidJS files `pages/<name>.liquid`, looked up first in the
 * operator's template directory (the one notices use, `[plugin.quarantine]
 * notice.templates`), then in the shipped `templates/pages/`; the layout and
 * partials resolve the same way, so one file can be overridden alone. Every
 * `{{ output }}` is HTML-escaped (`outputEscape: 'escape'`): held subjects,
 * senders and header blocks come from spam. All templates are parsed at start
 * so a broken override stops start-up instead of a page. The stylesheet is
 * `pages/style.css` from the same directories, read once.
 *
 * It does not decide what a page shows (the route modules do) and does not
 * watch the files.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import { Liquid } from 'liquidjs';

/** The page templates; each must exist in one of the directories. */
export const PAGE_NAMES = [
  'layout',
  'message',
  'sender',
  'recipient',
  'discard',
  'discard-done',
  'confirm',
  'confirm-done',
  'unsubscribe',
  'unsubscribe-done',
  'access',
  'not-found',
  'error',
  'admin-bar',
  'admin-login',
  'admin',
  'admin-sender',
  'admin-recipient',
  'admin-done',
  'admin-held-row',
  'admin-held-all',
  'admin-confirm',
] as const;

export type PageName = (typeof PAGE_NAMES)[number];

/** The shipped templates (the compiled file sits in dist/pages/). */
export const SHIPPED_PAGES_DIR = fileURLToPath(new URL('../../templates/pages/', import.meta.url));

/**
 * Headers on every answer under /q/: no scripts, styles only from us, forms
 * only to us, no framing; no Referer (tokens are in the URLs); not indexed,
 * not cached, no MIME sniffing.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex, nofollow',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** A page template that is missing or does not parse. */
export class PageTemplateError extends Error {
  readonly code = 'SMARTHOLD_QUARANTINE_PAGE_TEMPLATE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PageTemplateError';
  }
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** "2026-01-05 10:00 UTC" for milliseconds since the epoch; '' for anything else. */
export function datetime(value: unknown): string {
  const ms = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(ms) || typeof value === 'boolean' || value === null || value === '') return '';
  const d = new Date(ms);
  return `${String(d.getUTCFullYear())}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())} UTC`;
}

/**
 * The relative way from a request's path back to /q/ ("../" per level), so
 * that pages link their stylesheet and forms relatively and keep working
 * behind a proxy that serves them under another path.
 */
export function rootOf(url: string): string {
  const p = url.split('?')[0] ?? '';
  const at = p.indexOf('/q/');
  if (at < 0) return 'q/';
  const depth = p.slice(at + 3).split('/').length - 1;
  return '../'.repeat(depth);
}

/** Renders pages from the templates. */
export class PageView {
  private constructor(
    private readonly liquid: Liquid,
    private readonly siteName: string,
    /** The stylesheet's text. */
    readonly css: string,
  ) {}

  /** Loads and checks every template and the stylesheet; throws {@link PageTemplateError}. */
  static async create(opts: { siteName: string; templatesDir?: string }): Promise<PageView> {
    const dirs = [
      ...(opts.templatesDir ? [path.join(path.resolve(opts.templatesDir), 'pages')] : []),
      SHIPPED_PAGES_DIR,
    ];
    const liquid = new Liquid({
      root: dirs,
      extname: '.liquid',
      cache: true,
      outputEscape: 'escape',
      strictFilters: true,
      ownPropertyOnly: true,
      // Named, so that Liquid does not ask Intl for the system's locale (which maps ~4 MB of ICU data).
      locale: 'en-US',
    });
    liquid.registerFilter('datetime', datetime);
    for (const name of PAGE_NAMES) {
      try {
        await liquid.parseFile(name);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new PageTemplateError(`page template ${name}.liquid (in ${dirs.join(' or ')}): ${msg}`, {
          cause: err,
        });
      }
    }
    return new PageView(liquid, opts.siteName, await readFirst(dirs, 'style.css'));
  }

  /** The HTML of a page; `root` is the relative way back to /q/ (see {@link rootOf}). */
  async render(name: PageName, root: string, data: Record<string, unknown>): Promise<string> {
    const html: unknown = await this.liquid.renderFile(name, { ...data, siteName: this.siteName, root });
    if (typeof html !== 'string') throw new PageTemplateError(`page template ${name} rendered no text`);
    return html;
  }

  /** Sends a page as the answer to the reply's request. */
  async send(
    reply: FastifyReply,
    name: PageName,
    data: Record<string, unknown>,
    status = 200,
  ): Promise<FastifyReply> {
    const html = await this.render(name, rootOf(reply.request.url), data);
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  }
}

/** The text of the first `dir/name` that exists. */
async function readFirst(dirs: readonly string[], name: string): Promise<string> {
  for (const dir of dirs) {
    try {
      return await readFile(path.join(dir, name), 'utf8');
    } catch {
      // not overridden here: try the next directory
    }
  }
  throw new PageTemplateError(`${name} not found in ${dirs.join(' or ')}`);
}
