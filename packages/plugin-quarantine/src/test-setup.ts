/**
 * test-setup.ts — smarthold with sender-auth, a counting Bayes scanner and
 * the quarantine, on loopback, for the quarantine's integration tests.
 *
 * The same suites run on the local SQLite store, on PostgreSQL and on
 * MySQL/MariaDB (`DIALECTS`); the PostgreSQL and MySQL runs get a fresh
 * database per instance. The
 * scanner is the real Bayes scanner wrapped to count calls. Messages: "ours"
 * comes from example.net (our domain) through loopback (our network); "not
 * ours" carries a Received line from an outside host and a sender with no
 * SPF record. Filtered: aol.com and gmail.com.
 */
import assert from 'node:assert/strict';
import {
  type CapturedMessage,
  type Clock,
  createMysqlTestDatabase,
  createPgTestDatabase,
  definePlugin,
  GTUBE,
  needMysql,
  needPostgres,
  type PluginManifest,
  type Reply,
  type SpamScanner,
  startTestSmarthold,
  type TestSmarthold,
} from '@smarthold/core';
import { createBayesScanner, DEFAULT_THRESHOLD } from '@smarthold/plugin-bayes';
import { senderAuthPlugin } from '@smarthold/plugin-sender-auth';
import { fakeDns } from '@smarthold/testkit';
import type { Dialect } from './db.js';
import { quarantinePlugin } from './index.js';
import type { QuarantineService } from './service.js';

export type { Dialect } from './db.js';

/** The dialects the suites run on. */
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres', 'mysql'];

export const OUR_SENDER = 'alice@example.net';
export const EXTERNAL_SENDER = 'bob@sender.example';
export const FILTERED = 'carol@aol.com';
export const FILTERED2 = 'dave@gmail.com';
export const UNFILTERED = 'erin@example.org';
export const UNFILTERED2 = 'frank@example.com';

/** A running instance with its counting scanner and the quarantine service. */
export interface QuarantineRig {
  readonly t: TestSmarthold;
  readonly service: QuarantineService;
  /** Number of scans so far. */
  scans(): number;
  /** What the scanner was taught, in order. */
  readonly learnt: { label: string; raw: string }[];
  send(from: string, to: readonly string[], raw: string): Promise<Reply>;
  /** Messages the sink got so far. */
  sunk(): CapturedMessage[];
  /** Waits until the sink has `n` messages (or fails after `ms`). */
  waitSunk(n: number, ms?: number): Promise<CapturedMessage[]>;
  stop(): Promise<void>;
}

let counter = 0;

/** A message. `external` adds a Received line from an outside host (the origin); `ip` picks that host's address. */
export function message(opts: {
  subject?: string;
  spam?: boolean;
  external?: boolean;
  ip?: string;
  body?: string;
  from?: string;
}): string {
  counter++;
  const ip = opts.ip ?? '198.51.100.7';
  const lines = [
    ...(opts.external || opts.ip
      ? [
          `Received: from mail.outside.example (mail.outside.example [${ip}]) by mx1.example.net (Postfix) with ESMTPS id 4Xq${String(counter)}; Mon, 5 Jan 2026 10:00:00 +0000`,
        ]
      : []),
    `From: ${opts.from ?? 'Sender <sender@example.net>'}`,
    'To: someone@example.org',
    `Subject: ${opts.subject ?? `message ${String(counter)}`}`,
    'Date: Mon, 5 Jan 2026 10:00:00 +0000',
    `Message-ID: <q${String(counter)}.${String(process.pid)}@example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ??
      (opts.spam
        ? `This is a test of the quarantine.\r\n${GTUBE}\r\n`
        : 'Hi, the minutes of the meeting are attached below. See you on Tuesday.\r\n.a dotted line\r\n'),
  ];
  return lines.join('\r\n');
}

/** The sink's copy without the one Received line smarthold adds at the top. */
export function withoutOurReceived(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  assert.match(text, /^Received: /, 'smarthold adds a Received line at the top');
  let end = text.indexOf('\r\n');
  while (text[end + 2] === ' ' || text[end + 2] === '\t') end = text.indexOf('\r\n', end + 2);
  return raw.subarray(end + 2);
}

/** Asserts that the sink got exactly what was sent (plus our Received line). */
export function assertIdentical(got: CapturedMessage, sent: string): void {
  assert.equal(withoutOurReceived(got.raw).toString('latin1'), Buffer.from(sent).toString('latin1'));
}

/** Notices among sunk messages (Auto-Submitted), by recipient. */
export function notices(msgs: readonly CapturedMessage[]): { to: string; subject: string; raw: string }[] {
  return msgs
    .filter((m) => /^Auto-Submitted: auto-generated/im.test(m.raw.toString('latin1')))
    .map((m) => {
      const raw = m.raw.toString('latin1');
      return { to: m.to.join(','), subject: /^Subject: (.*)$/im.exec(raw)?.[1] ?? '', raw };
    });
}

/** Decodes a quoted-printable text (for reading links out of notices). */
export function decodeQp(text: string): string {
  return Buffer.from(
    text
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

/** Where the rig's plugin data lives: `[store]` keys, and how to drop the database afterwards. */
export async function databaseFor(
  dialect: Dialect,
): Promise<{ config: { database?: string }; drop(): Promise<void> }> {
  if (dialect === 'sqlite') return { config: {}, drop: () => Promise.resolve() };
  const fresh = dialect === 'postgres' ? await createPgTestDatabase() : await createMysqlTestDatabase();
  return { config: { database: fresh.url }, drop: () => fresh.drop() };
}

/** Skip reason for a dialect whose database is not there (fails under SMARTHOLD_TEST_REQUIRE). */
export async function skipFor(dialect: Dialect): Promise<false | string> {
  if (dialect === 'postgres') return needPostgres();
  if (dialect === 'mysql') return needMysql();
  return false;
}

/** Starts the rig. `quarantine` is merged into `[plugin.quarantine]`. */
export async function startRig(
  dialect: Dialect,
  opts: { quarantine?: Record<string, unknown>; clock?: Clock; extraPlugins?: PluginManifest[] } = {},
): Promise<QuarantineRig> {
  const bayes = await createBayesScanner({ threshold: DEFAULT_THRESHOLD, maxScanBytes: 1 << 20 });
  let scans = 0;
  const learnt: { label: string; raw: string }[] = [];
  const scanner: SpamScanner = {
    name: 'bayes',
    scan(m, c) {
      scans++;
      return bayes.scan(m, c);
    },
    // Records what it is taught (the shipped model stays as it is).
    async learn(m, label) {
      const chunks: Buffer[] = [];
      for await (const c of m.openMessage()) chunks.push(c as Buffer);
      learnt.push({ label, raw: Buffer.concat(chunks).toString('latin1') });
    },
  };
  const counting = definePlugin({
    name: 'counting-bayes',
    version: '1.0.0',
    core: '^1',
    provides: ['spam-scanner'],
    setup(ctx) {
      ctx.provide('spam-scanner', scanner);
    },
  });
  const db = await databaseFor(dialect);
  const dns = fakeDns();
  let t: TestSmarthold;
  try {
    t = await startTestSmarthold({
      plugins: [
        senderAuthPlugin({ resolver: dns.resolve }),
        counting,
        quarantinePlugin(),
        ...(opts.extraPlugins ?? []),
      ],
      config: {
        plugins: [
          'sender-auth',
          'counting-bayes',
          'quarantine',
          ...(opts.extraPlugins ?? []).map((p) => p.name),
        ],
        store: db.config,
        plugin: {
          'sender-auth': {
            our_domains: ['example.net'],
            filter_domains: ['aol.com', 'gmail.com'],
            check_every_message: false,
          },
          quarantine: opts.quarantine ?? {},
        },
      },
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const service = t.app.host.service('quarantine') as QuarantineService;
  const sink = t.sink;
  assert.ok(sink);
  return {
    t,
    service,
    scans: () => scans,
    learnt,
    send: (from, to, raw) => t.send(from, to, raw),
    sunk: () => [...sink.messages],
    async waitSunk(n, ms = 10_000) {
      const end = Date.now() + ms;
      while (sink.messages.length < n) {
        if (Date.now() > end) {
          throw new Error(
            `sink has ${String(sink.messages.length)} messages, wanted ${String(n)}: ${JSON.stringify(sink.messages.map((m) => m.to))}`,
          );
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      return [...sink.messages];
    },
    async stop() {
      await t.stop();
      await db.drop();
    },
  };
}

/** Lets queued mail settle: waits `ms` and returns what the sink has. */
export async function settle(rig: QuarantineRig, ms = 400): Promise<CapturedMessage[]> {
  await new Promise((r) => setTimeout(r, ms));
  return rig.sunk();
}

/** The release URL on its own line of a reject reply. */
export function releaseUrl(reply: Reply): string {
  const m = /(https?:\/\/\S+\/q\/m\/[A-Za-z0-9_-]{22})/.exec(reply.text);
  assert.ok(m, `no release URL in ${reply.text}`);
  return m[1] ?? '';
}
