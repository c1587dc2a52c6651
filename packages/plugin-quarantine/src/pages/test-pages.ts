/**
 * pages/test-pages.ts — smarthold with the quarantine's pages on loopback,
 * for the pages' integration tests.
 *
 * Plugins: sender-auth (fake DNS; filtered: aol.com; ours: example.net), a
 * fake scanner that calls a message spam when its body contains "SPAM", and
 * the quarantine. A capture sink is the next hop, so released, redirected
 * and notice mail all arrive there. Helpers hold a message over SMTP and read
 * its link from the 552 reply, fetch pages, read a form's CSRF field out of
 * the HTML (as a browser would send it back) and post forms. The plugin data
 * is in the local SQLite store unless the rig is started on PostgreSQL or
 * MySQL (a fresh database, dropped at stop). With `captureLog` the log lines are kept
 * for the test to read; the pages' work after an answer can be held back
 * ({@link GatedBackground}) to see what a page did before answering. Not shipped (test-* files are left out of the package).
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import {
  type CapturedMessage,
  createLogger,
  definePlugin,
  type Reply,
  type SpamScanner,
  startTestSmarthold,
  type TestSmarthold,
} from '@smarthold/core';
import { senderAuthPlugin } from '@smarthold/plugin-sender-auth';
import { fakeDns } from '@smarthold/testkit';
import type { FastifyBaseLogger } from 'fastify';
import { quarantinePlugin } from '../index.js';
import type { QuarantineService } from '../service.js';
import { databaseFor, type Dialect } from '../test-setup.js';
import { Background } from './kit.js';

export const OUR_SENDER = 'alice@example.net';
export const OTHER_SENDER = 'bob@example.net';
export const RECIPIENT = 'erin@example.org';
export const RECIPIENT2 = 'frank@example.com';
export const FILTERED = 'carol@aol.com';
export const SITE = 'Example ISP';

async function text(s: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

/** A scanner plugin that says spam when the body contains "SPAM". */
export const fakeScannerPlugin = definePlugin({
  name: 'fake-scanner',
  version: '1.0.0',
  core: '^1',
  provides: ['spam-scanner'],
  setup(ctx) {
    const scanner: SpamScanner = {
      name: 'fake',
      async scan(m) {
        const raw = await text(m.openMessage());
        const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
        const spam = body.includes('SPAM');
        return {
          scanner: 'fake',
          score: spam ? 12.5 : 0,
          threshold: 5,
          isSpam: spam,
          rules: spam ? [{ name: 'FAKE_SPAM', score: 12.5 }] : [],
          durationMs: 0,
        };
      },
    };
    ctx.provide('spam-scanner', scanner);
  },
});

let counter = 0;

/** A message; spammy unless `clean`. */
export function mail(opts: { subject?: string; from?: string; clean?: boolean } = {}): string {
  counter++;
  return [
    `From: Sender <${opts.from ?? OUR_SENDER}>`,
    `To: ${RECIPIENT}`,
    `Subject: ${opts.subject ?? `offer ${String(counter)}`}`,
    'Date: Mon, 5 Jan 2026 10:00:00 +0000',
    `Message-ID: <p${String(counter)}.${String(process.pid)}@example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.clean ? 'The minutes of the meeting are below.' : 'Cheap watches! SPAM SPAM SPAM',
    '',
  ].join('\r\n');
}

/**
 * The pages' work after an answer (mail a visitor asked for), which a test
 * can hold back: after `hold()` nothing starts until `release()`.
 */
export class GatedBackground extends Background {
  private waiting: (() => void)[] | undefined;

  /** From now on, work waits for {@link release}. */
  hold(): void {
    this.waiting ??= [];
  }

  /** How many pieces of work are waiting. */
  get held(): number {
    return this.waiting?.length ?? 0;
  }

  /** Starts the waiting work, and runs later work at once again. */
  release(): void {
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    for (const start of waiting) start();
  }

  override run(log: FastifyBaseLogger, what: string, work: () => Promise<unknown>): void {
    if (this.waiting === undefined) super.run(log, what, work);
    else
      this.waiting.push(() => {
        super.run(log, what, work);
      });
  }
}

/** A running instance. */
export interface PagesRig {
  readonly t: TestSmarthold;
  readonly service: QuarantineService;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  /** Sends a message and expects it held with a 552 and a link; returns the link, its token and queue id. */
  hold(
    from: string,
    to: readonly string[],
    raw?: string,
  ): Promise<{ url: string; token: string; queueId: string }>;
  /** Messages the sink got so far. */
  sunk(): CapturedMessage[];
  /** Waits until a sunk message matches (or fails after `ms`). */
  waitSunk(match: (m: CapturedMessage) => boolean, ms?: number): Promise<CapturedMessage>;
  /** The pages' work after answering; `hold()` it to see what a page did before its answer. */
  readonly background: GatedBackground;
  /** The log lines at info and above so far, parsed (only when started with `captureLog`). */
  readonly logs: readonly Record<string, unknown>[];
  stop(): Promise<void>;
}

/** The link on its own line of a 552 reply (after the enhanced status code). */
export function linkOf(reply: Reply): string {
  const m = /^(?:\d\.\d{1,3}\.\d{1,3} )?(https?:\/\/\S+\/q\/m\/[A-Za-z0-9_-]{22})$/m.exec(
    reply.lines.join('\n'),
  );
  assert.ok(m, `no link on a line of its own in ${reply.text}`);
  return m[1] ?? '';
}

/**
 * Starts smarthold with sender-auth, the fake scanner and the quarantine;
 * `quarantine` keys are added to `[plugin.quarantine]`; `publicUrl` is
 * `[http] public_url` (the rig is still reached at `base`).
 */
export async function startPagesRig(
  opts: {
    dialect?: Dialect;
    quarantine?: Record<string, unknown>;
    publicUrl?: string;
    /** Keep the log lines at info and above in `logs` (instead of the usual silent log). */
    captureLog?: boolean;
  } = {},
): Promise<PagesRig> {
  const dns = fakeDns();
  const db = await databaseFor(opts.dialect ?? 'sqlite');
  const logs: Record<string, unknown>[] = [];
  const background = new GatedBackground();
  const destination = {
    write(line: string) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  let t: TestSmarthold;
  try {
    t = await startTestSmarthold({
      ...(opts.captureLog ? { log: createLogger({ level: 'info', destination }) } : {}),
      plugins: [
        senderAuthPlugin({ resolver: dns.resolve }),
        fakeScannerPlugin,
        quarantinePlugin({ background }),
      ],
      config: {
        plugins: ['sender-auth', 'fake-scanner', 'quarantine'],
        store: db.config,
        ...(opts.publicUrl ? { http: { public_url: opts.publicUrl } } : {}),
        plugin: {
          'sender-auth': {
            filter_domains: ['aol.com'],
            our_domains: ['example.net'],
            check_every_message: false,
          },
          // sender_interval 0: every held message is rejected with its link (no silent holds in between).
          quarantine: { notice: { site_name: SITE, sender_interval: 0 }, ...opts.quarantine },
        },
      },
    });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const service = t.app.host.service('quarantine') as QuarantineService;
  const sink = t.sink;
  assert.ok(sink);
  const rig: PagesRig = {
    t,
    service,
    base: `http://127.0.0.1:${String(t.app.httpPort)}`,
    async hold(from, to, raw = mail({ from })) {
      const reply = await t.send(from, to, raw);
      assert.equal(reply.code, 552, reply.text);
      const url = linkOf(reply);
      const token = url.slice(-22);
      const info = await service.check(token, 'message');
      assert.ok(info);
      return { url, token, queueId: info.subject };
    },
    sunk: () => [...sink.messages],
    background,
    logs,
    async waitSunk(match, ms = 10_000) {
      const end = Date.now() + ms;
      for (;;) {
        const m = sink.messages.find(match);
        if (m) return m;
        if (Date.now() > end)
          throw new Error(`sink: no matching message among ${String(sink.messages.length)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      background.release();
      await t.stop();
      await db.drop();
    },
  };
  return rig;
}

/** A fetched page. */
export interface Page {
  readonly status: number;
  readonly headers: Headers;
  readonly html: string;
}

/** GETs a page (redirects not followed), with extra request headers (a Cookie) when given. */
export async function get(url: string, headers: Record<string, string> = {}): Promise<Page> {
  const r = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000), headers });
  return { status: r.status, headers: r.headers, html: await r.text() };
}

/** Posts a form (urlencoded; arrays repeat the field). Redirects are not followed. */
export async function post(
  url: string,
  form: Record<string, string | readonly string[]>,
  init: { contentType?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Page & { location: string | null }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form))
    for (const x of typeof v === 'string' ? [v] : v) body.append(k, x);
  const headers = init.headers ?? {};
  const r = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
    ...(init.contentType === undefined
      ? { body, headers }
      : { body: init.body ?? '', headers: { ...headers, 'content-type': init.contentType } }),
  });
  return { status: r.status, headers: r.headers, html: await r.text(), location: r.headers.get('location') };
}

/** The CSRF field of the form holding a button or hidden field with this `value` (or the only CSRF field). */
export function csrfOf(html: string, value?: string): string {
  for (const form of html.match(/<form\b[\s\S]*?<\/form>/g) ?? []) {
    if (value !== undefined && !form.includes(`value="${value}"`)) continue;
    const m = /name="csrf" value="([^"]*)"/.exec(form);
    if (m) return m[1] ?? '';
  }
  assert.fail(`no form with ${value ?? 'a csrf field'} in the page`);
}

/** Follows a relative Location from the URL it answered. */
export function resolve(from: string, location: string | null): string {
  assert.ok(location, 'a Location header');
  return new URL(location, from).toString();
}

/** Decodes quoted-printable (to read links out of notices). */
export function decodeQp(raw: string): string {
  return Buffer.from(
    raw
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

/** The first /q/<kind>/TOKEN link in a captured message. */
export function linkIn(m: CapturedMessage, kind: 'm' | 's' | 'r' | 'c'): string {
  const found = new RegExp(`https?://\\S+?/q/${kind}/[A-Za-z0-9_-]{22}`).exec(
    decodeQp(m.raw.toString('latin1')),
  );
  assert.ok(found, `no /q/${kind}/ link in the message`);
  return found[0];
}

/** The headers every page carries. */
export function assertSecurityHeaders(p: Page): void {
  assert.equal(
    p.headers.get('content-security-policy'),
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  assert.equal(p.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(p.headers.get('x-robots-tag'), 'noindex, nofollow');
  assert.equal(p.headers.get('x-content-type-options'), 'nosniff');
}
