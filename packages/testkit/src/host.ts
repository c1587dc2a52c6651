/**
 * host.ts — plugins set up through core's real PluginHost, without sockets.
 *
 * `createTestHost` loads the config the way smarthold does (zod defaults, the
 * plugin's own section validated by its schema), opens a throw-away SQLite
 * store in a temporary directory (so `ctx.data` and migrations behave as in
 * production) and hands PluginHost.create dependencies that do no I/O: HTTP
 * registrations and jobs are collected, `submit` is captured, logs are
 * silent. It does not run SMTP; transaction.ts drives the hooks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createLogger,
  loadConfig,
  openStore,
  PluginHost,
  Committer,
  Metrics,
  type DataPhaseDeps,
  type QueueStore,
  serviceCombiners,
  silentLogger,
  systemClock,
  type Clock,
  type Config,
  type JobOptions,
  type LoadedPlugin,
  type Logger,
  type PluginManifest,
  type SubmitMessage,
  createPluginQueue,
  publicUrl,
} from '@smarthold/core';

/** A message a plugin queued with `ctx.submit`, with the plugin's name and the queue id it was given. */
export interface SubmittedMessage extends SubmitMessage {
  readonly plugin: string;
  readonly queueId: string;
}

/** A periodic job a plugin registered with `ctx.job`; `run()` runs it once, now. */
export interface CollectedJob extends JobOptions {
  readonly plugin: string;
  readonly name: string;
  run(): Promise<void>;
}

/** Options of {@link createTestHost}. */
export interface TestHostOptions {
  /**
   * smarthold config tables merged over the test defaults, as in smarthold.toml:
   * `{ plugin: { hello: { greeting: 'hey' } }, smtp: { received_header: false } }`.
   * `plugins` defaults to the names of the plugins given.
   */
  readonly config?: Record<string, unknown>;
  readonly clock?: Clock;
  /** A logger instead of the default (silent unless SMARTHOLD_TEST_LOG is set). */
  readonly log?: Logger;
}

/** Plugins set up and ready to run hooks. Call `close()` when done. */
export interface TestHost {
  readonly host: PluginHost;
  readonly config: Config;
  readonly clock: Clock;
  /** The temporary store directory (database, plugin data directories). */
  readonly dir: string;
  /** The DATA phase's dependencies: core's real spool, committer and store in `dir`. */
  readonly dataPhase: DataPhaseDeps;
  /** The throw-away queue store (what a transaction committed is in it). */
  readonly store: QueueStore;
  /** Messages plugins submitted, in order. */
  readonly submitted: SubmittedMessage[];
  /** Jobs plugins registered. */
  readonly jobs: readonly CollectedJob[];
  /** Plugins that registered HTTP routes (the routes themselves are not served). */
  readonly httpPlugins: readonly string[];
  /** Runs the named job once (`plugin/name` or just `name`). */
  runJob(name: string): Promise<void>;
  /** Runs the plugins' close functions, closes the store, removes the directory. */
  close(): Promise<void>;
}

/**
 * Sets the plugins up through core's PluginHost.
 *
 * @example
 * const t = await createTestHost([myPlugin], { config: { plugin: { mine: { limit: 2 } } } });
 * try { await runTransaction(t, { from: 'a@example.org', to: ['b@example.net'], message }); } finally { await t.close(); }
 */
export async function createTestHost(
  plugins: readonly PluginManifest[],
  opts: TestHostOptions = {},
): Promise<TestHost> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smarthold-testkit-'));
  const clock = opts.clock ?? systemClock;
  const log =
    opts.log ??
    (process.env['SMARTHOLD_TEST_LOG']
      ? createLogger({ level: process.env['SMARTHOLD_TEST_LOG'] })
      : silentLogger());
  const tables = opts.config ?? {};
  const table = (key: string): Record<string, unknown> => {
    const t = tables[key];
    return typeof t === 'object' && t !== null ? (t as Record<string, unknown>) : {};
  };
  const loaded = loadConfig(undefined, {
    plugins: plugins.map((p) => p.name),
    ...tables,
    smtp: { hostname: 'smarthold.test', ...table('smtp') },
    store: { ...table('store'), dir },
  });
  const { config } = loaded;
  const opened = await openStore(config).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const submitted: SubmittedMessage[] = [];
  const jobs: CollectedJob[] = [];
  const httpPlugins: string[] = [];
  let submittedCount = 0;
  const inline: LoadedPlugin[] = plugins.map((manifest) => ({
    manifest,
    spec: manifest.name,
    source: '(inline)',
  }));
  let host: PluginHost;
  try {
    host = await PluginHost.create(config, inline, {
      log,
      clock,
      dataDir: dir,
      hookTimeoutMs: config.smtp.hook_timeout,
      sources: loaded.sources,
      database: { db: opened.store.db, dialect: 'sqlite' },
      queue: createPluginQueue({ store: opened.store, spool: opened.spool, clock, kick: () => undefined }),
      publicUrl: () => publicUrl(config),
      hostname: config.smtp.hostname || 'smarthold.test',
      http: (plugin) => {
        httpPlugins.push(plugin);
      },
      job: (plugin, name, o, run) => {
        jobs.push({ plugin, name, everyMs: o.everyMs, run });
      },
      submit: (plugin, message) => {
        submittedCount += 1;
        const queueId = `TESTSUBMIT${String(submittedCount).padStart(4, '0')}`;
        submitted.push({ ...message, plugin, queueId });
        return Promise.resolve(queueId);
      },
      combiners: serviceCombiners(config.scanning),
    });
  } catch (err) {
    await opened.store.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const committer = new Committer(opened.spool, opened.store, clock, log);
  return {
    host,
    config,
    clock,
    dir,
    store: opened.store,
    dataPhase: {
      config,
      hostname: config.smtp.hostname || 'smarthold.test',
      host,
      spool: opened.spool,
      committer,
      clock,
      log,
      metrics: new Metrics(opened.store),
    },
    submitted,
    jobs,
    httpPlugins,
    async runJob(name) {
      const job = jobs.find((j) => `${j.plugin}/${j.name}` === name) ?? jobs.find((j) => j.name === name);
      if (!job)
        throw new Error(
          `no job "${name}"; registered: ${jobs.map((j) => `${j.plugin}/${j.name}`).join(', ') || 'none'}`,
        );
      await job.run();
    },
    async close() {
      await host.close();
      await opened.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
