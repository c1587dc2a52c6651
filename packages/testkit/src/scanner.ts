/**
 * scanner.ts — a spam scanner whose answer the test decides.
 *
 * `fakeScanner` gives a plugin manifest that provides the `spam-scanner`
 * service (spam/contract.ts), so a plugin that requires a scanner can be
 * tested without bayes, spamd or rspamd. It reads the whole message (as a
 * real scanner would), counts calls and remembers what it was given. By
 * default it calls GTUBE spam and everything else ham. It never changes the
 * message.
 */
import {
  definePlugin,
  GTUBE,
  type PluginManifest,
  type ScanContext,
  type ScanMessage,
  type ScanVerdict,
  type SpamScanner,
} from '@smarthold/core';

/** A scanner answer: "spam", "ham", or the fields of a verdict to set (the rest is filled in). */
export type FakeVerdict = 'spam' | 'ham' | Partial<ScanVerdict>;

/** What the fake scanner is asked to decide on. */
export interface FakeScanInput {
  /** The message bytes as the scanner read them. */
  readonly raw: Buffer;
  readonly size: number;
  readonly context: ScanContext | undefined;
}

/** Options of {@link fakeScanner}. */
export interface FakeScannerOptions {
  /** Plugin and scanner name; default "fake-scanner". */
  readonly name?: string;
  /** The answer, or a function of the message; default: GTUBE is spam. A function may throw to simulate a failing scanner. */
  readonly verdict?: FakeVerdict | ((input: FakeScanInput) => FakeVerdict | Promise<FakeVerdict>);
  /** Whether the scanner can learn (provides `learn`); default true. */
  readonly learn?: boolean;
  /** Score threshold reported; default 5. */
  readonly threshold?: number;
}

/** A fake scanner: the plugin to load, the service itself, and what it saw. */
export interface FakeScanner {
  readonly plugin: PluginManifest;
  readonly scanner: SpamScanner;
  /** Number of `scan` and `learn` calls. */
  readonly calls: { scan: number; learn: number };
  /** Every scan, in order. */
  readonly scanned: FakeScanInput[];
  /** Every learn call, in order. */
  readonly learned: { readonly label: 'spam' | 'ham'; readonly raw: Buffer }[];
}

async function readAll(m: ScanMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of m.openMessage()) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

/**
 * Makes a fake `spam-scanner`.
 *
 * @example
 * const spam = fakeScanner({ verdict: ({ raw }) => (raw.includes('viagra') ? 'spam' : 'ham') });
 * const r = await runTransaction([spam.plugin, myPlugin], { from, to, message });
 * assert.equal(spam.calls.scan, 1);
 */
export function fakeScanner(opts: FakeScannerOptions = {}): FakeScanner {
  const name = opts.name ?? 'fake-scanner';
  const threshold = opts.threshold ?? 5;
  const decide =
    opts.verdict ?? ((i: FakeScanInput): FakeVerdict => (i.raw.includes(GTUBE) ? 'spam' : 'ham'));
  const calls = { scan: 0, learn: 0 };
  const scanned: FakeScanInput[] = [];
  const learned: { label: 'spam' | 'ham'; raw: Buffer }[] = [];
  const scanner: SpamScanner = {
    name,
    async scan(message, context) {
      calls.scan += 1;
      const raw = await readAll(message);
      const input: FakeScanInput = { raw, size: message.size, context };
      scanned.push(input);
      const v = typeof decide === 'function' ? await decide(input) : decide;
      const base: ScanVerdict = {
        scanner: name,
        score: 0,
        threshold,
        isSpam: false,
        rules: [],
        durationMs: 0,
      };
      if (v === 'spam')
        return {
          ...base,
          score: threshold * 2,
          isSpam: true,
          rules: [{ name: 'FAKE_SPAM', score: threshold * 2 }],
        };
      if (v === 'ham') return base;
      const score = v.score ?? (v.isSpam ? threshold * 2 : 0);
      return { ...base, ...v, score, isSpam: v.isSpam ?? score >= (v.threshold ?? threshold) };
    },
    ...(opts.learn === false
      ? {}
      : {
          async learn(message: ScanMessage, label: 'spam' | 'ham') {
            calls.learn += 1;
            learned.push({ label, raw: await readAll(message) });
          },
        }),
  };
  const plugin = definePlugin({
    name,
    version: '0.0.0',
    core: '^1',
    description: 'a fake spam scanner (@smarthold/testkit)',
    provides: ['spam-scanner'],
    setup(ctx) {
      ctx.provide('spam-scanner', scanner);
    },
  });
  return { plugin, scanner, calls, scanned, learned };
}
