/**
 * testing/harness.ts — smarthold on loopback with a capture sink as next hop.
 *
 * For integration tests: a temporary store directory, SMTP and HTTP on
 * ephemeral ports, fast retries, silent logs (unless SMARTHOLD_TEST_LOG is
 * set), and helpers to send mail and wait for the queue. Everything it starts
 * is stopped by `stop()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSmarthold, type Smarthold } from '../app.js';
import type { MxResolver } from '../delivery/mx.js';
import { createLogger, silentLogger, type Logger } from '../log.js';
import type { PluginManifest } from '../plugin/api.js';
import type { RecipientState } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { deepMerge } from '../util/merge.js';
import { startCaptureSink, type CaptureSink } from './capture-sink.js';
import { sendMail, type Reply } from './smtp-client.js';

export interface TestSmartholdOptions {
  /** Config tables merged over the test defaults. */
  readonly config?: Record<string, unknown>;
  readonly plugins?: readonly PluginManifest[];
  /** false: no relay (MX delivery is then the default); otherwise a sink is started (or the one given is used) as the relay. */
  readonly sink?: CaptureSink | false;
  /** Fake DNS for MX delivery (never let a test query real DNS). */
  readonly resolver?: MxResolver;
  /** Reuse a store directory (restart tests). */
  readonly dir?: string;
  readonly clock?: Clock;
  /** A logger to use instead of the default (silent unless SMARTHOLD_TEST_LOG is set). */
  readonly log?: Logger;
}

export interface TestSmarthold {
  readonly app: Smarthold;
  readonly sink: CaptureSink | undefined;
  readonly dir: string;
  send(from: string, to: readonly string[], message: string | Buffer): Promise<Reply>;
  /** Waits until every recipient of the message is in one of `states`. */
  waitForState(queueId: string, states: readonly RecipientState[], timeoutMs?: number): Promise<void>;
  /** Stops smarthold and the sink it started; removes the directory unless `keepDir`. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

/** Starts smarthold (and a sink) for a test. */
export async function startTestSmarthold(opts: TestSmartholdOptions = {}): Promise<TestSmarthold> {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'smarthold-test-'));
  const sink = opts.sink === false ? undefined : (opts.sink ?? (await startCaptureSink()));
  const base: Record<string, unknown> = {
    // Tests name the plugins they want; none by default (the product default loads three).
    plugins: [],
    smtp: { listen: ['127.0.0.1:0'], hostname: 'smarthold.test' },
    http: { listen: '127.0.0.1:0' },
    store: { dir },
    delivery: {
      poll_interval: '100ms',
      retry_min: '200ms',
      retry_max: '1s',
      ...(sink ? { relay: { host: '127.0.0.1', port: sink.port, tls: 'none' } } : {}),
    },
  };
  const log =
    opts.log ??
    (process.env['SMARTHOLD_TEST_LOG']
      ? createLogger({ level: process.env['SMARTHOLD_TEST_LOG'] })
      : silentLogger());
  let app: Smarthold;
  try {
    app = await startSmarthold({
      config: deepMerge(base, opts.config ?? {}),
      plugins: opts.plugins ?? [],
      log,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.resolver ? { resolver: opts.resolver } : {}),
    });
  } catch (err) {
    if (opts.sink === undefined) await sink?.close();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    app,
    sink,
    dir,
    send: (from, to, message) => sendMail(app.smtpPort, from, to, message),
    async waitForState(queueId, states, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = await app.store.get(queueId);
        if (m?.recipients.length && m.recipients.every((r) => states.includes(r.state))) return;
        if (Date.now() > end)
          throw new Error(
            `${queueId}: recipients ${JSON.stringify(m?.recipients.map((r) => r.state))}, wanted ${states.join('|')}`,
          );
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop(o = {}) {
      await app.stop(2000);
      if (opts.sink === undefined) await sink?.close();
      if (!o.keepDir && !opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
