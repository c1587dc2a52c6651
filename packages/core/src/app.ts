/**
 * app.ts — one smarthold instance: wire config, store, plugins, SMTP, delivery, HTTP.
 *
 * Start order: store (and the spool check), HTTP app, plugins (setup awaited,
 * routes registered), then the HTTP and SMTP listeners, then delivery and
 * jobs. Stop order is the reverse: stop accepting, let sessions and
 * deliveries finish, close plugins and the store.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { DeliveryScheduler } from './delivery/scheduler.js';
import type { MxResolver } from './delivery/mx.js';
import { createTransport } from './delivery/router.js';
import type { Transport } from './delivery/transport.js';
import { createHttp, listenHttp } from './http/server.js';
import { JobScheduler } from './jobs.js';
import { createLogger } from './log.js';
import { Metrics } from './metrics.js';
import type { PluginManifest } from './plugin/api.js';
import { PluginHost } from './plugin/host.js';
import { loadPlugins } from './plugin/load.js';
import { serviceCombiners } from './spam/combine.js';
import { Ingress, type Listener } from './smtp/ingress.js';
import { Committer } from './store/committer.js';
import { lockStoreDir } from './store/lock.js';
import { recoverSpool } from './store/recover.js';
import { compact, PURGE_EVERY_MS, purgeFinished } from './store/retention.js';
import { Spool } from './store/spool.js';
import { SqliteQueueStore } from './store/sqlite.js';
import { openPluginDatabase } from './store/database.js';
import { createPluginQueue } from './store/plugin-queue.js';
import type { QueueStore } from './store/types.js';
import { type Clock, systemClock } from './util/clock.js';

/** Options for {@link startSmarthold}. */
export interface StartOptions {
  /** Path of smarthold.toml; undefined runs on built-in defaults (plus `config`). */
  readonly configFile?: string | undefined;
  /** Raw config tables merged over the file (tests, embedding). */
  readonly config?: Record<string, unknown>;
  /** Where relative paths resolve when there is no config file (default: the working directory). */
  readonly baseDir?: string;
  /** Plugin manifests handed in directly; matched by name against `plugins` in the config. */
  readonly plugins?: readonly PluginManifest[];
  readonly log?: Logger;
  readonly clock?: Clock;
  /** Replaces the transport chosen from the config (tests). */
  readonly transport?: Transport;
  /** DNS for MX delivery (tests inject a fake); default node:dns. */
  readonly resolver?: MxResolver;
}

/** A running instance. */
export interface Smarthold {
  readonly config: Config;
  readonly loaded: LoadedConfig;
  readonly store: QueueStore;
  readonly spool: Spool;
  readonly host: PluginHost;
  readonly http: FastifyInstance | undefined;
  readonly listeners: readonly Listener[];
  /** Port of the first SMTP listener. */
  readonly smtpPort: number;
  /** Port of the HTTP listener (0 when disabled). */
  readonly httpPort: number;
  readonly jobs: JobScheduler;
  readonly log: Logger;
  /** Looks for due mail now. */
  kick(): void;
  /** Stops everything; waits up to `graceMs` for sessions and deliveries. */
  stop(graceMs?: number): Promise<void>;
}

/** The host name smarthold uses: `[smtp] hostname`, else the machine's. */
export function hostnameOf(config: Config): string {
  return config.smtp.hostname || os.hostname();
}

/** The base URL for links in mail: `[http] public_url`, else the listener's address. No trailing slash. */
export function publicUrl(config: Config, port = config.http.listen.port): string {
  if (config.http.public_url) return config.http.public_url.replace(/\/+$/, '');
  const h = config.http.listen.host;
  const host = h.includes(':') ? `[${h}]` : h === '0.0.0.0' ? '127.0.0.1' : h;
  return `http://${host}:${String(port)}`;
}

/** Opens the queue store for a config (the CLI uses this to read a stopped instance too). */
export async function openStore(config: Config): Promise<{ store: SqliteQueueStore; spool: Spool }> {
  const store = new SqliteQueueStore(path.join(config.store.dir, 'queue.sqlite'));
  await store.init();
  const spool = new Spool(path.join(config.store.dir, 'spool'), config.store.directory_fsync);
  if (config.store.inline_max_size > 0) spool.attachInline(store.inlineBodies, config.store.inline_max_size);
  return { store, spool };
}

/**
 * Starts smarthold.
 *
 * @example
 * const app = await startSmarthold({ config: { smtp: { listen: ['127.0.0.1:0'] }, store: { dir: '/tmp/sh' } } });
 * console.log(app.smtpPort);
 * await app.stop();
 */
export async function startSmarthold(opts: StartOptions = {}): Promise<Smarthold> {
  const loaded = loadConfig(opts.configFile, opts.config ?? {}, opts.baseDir);
  const { config } = loaded;
  const log = opts.log ?? createLogger({ level: config.log.level });
  const clock = opts.clock ?? systemClock;
  // What start-up acquired, released in reverse order by stop() or by a failed start.
  const teardown: (() => Promise<unknown> | undefined)[] = [];
  const release = async (): Promise<void> => {
    for (const fn of teardown.splice(0).reverse()) await fn();
  };
  try {
    return await assemble(opts, loaded, log, clock, teardown, release);
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
}

async function assemble(
  opts: StartOptions,
  loaded: LoadedConfig,
  log: Logger,
  clock: Clock,
  teardown: (() => Promise<unknown> | undefined)[],
  release: () => Promise<void>,
): Promise<Smarthold> {
  const { config } = loaded;
  mkdirSync(config.store.dir, { recursive: true });
  const unlock = lockStoreDir(config.store.dir);
  teardown.push(() => {
    unlock();
    return undefined;
  });
  const { store, spool } = await openStore(config);
  teardown.push(() => store.close());
  await recoverSpool(store, spool, log);
  // Plugins' tables; closed after the HTTP listener and the plugins (teardown runs in reverse).
  const database = await openPluginDatabase(config, store.db);
  teardown.push(() => database.close());
  const metrics = new Metrics(store);
  const jobs = new JobScheduler(log);
  const http = config.http.enabled
    ? createHttp({
        metrics,
        log,
        health: async () => ({ ok: true, detail: { queue: await store.counts() } }),
      })
    : undefined;
  // Assigned once delivery is built below; until then committed mail waits for its first poll.
  let scheduler: DeliveryScheduler | undefined = undefined;
  const committer = new Committer(spool, store, clock, log, {
    reserve: () => scheduler?.reserve(),
    committed: (claim, body) => {
      scheduler?.committed(claim, body);
    },
    cancel: () => {
      scheduler?.cancel();
    },
  });
  let httpPort = 0;
  // Until the host is up, a failed start must still close the HTTP app (its teardown comes later).
  let host: PluginHost;
  try {
    host = await PluginHost.create(config, await loadPlugins(loaded, opts.plugins ?? []), {
      log,
      clock,
      dataDir: config.store.dir,
      database,
      queue: createPluginQueue({ store, spool, clock, kick: () => scheduler?.kick() }),
      publicUrl: () => publicUrl(config, httpPort),
      hostname: hostnameOf(config),
      hookTimeoutMs: config.smtp.hook_timeout,
      sources: loaded.sources,
      http: (plugin, register) => {
        if (!http) {
          log.warn({ plugin }, 'plugin registers HTTP routes but [http] is disabled');
          return;
        }
        void http.register(async (scope) => {
          await register(scope);
        });
      },
      job: (plugin, name, o, run) => {
        jobs.add(plugin, name, o.everyMs, run);
      },
      submit: (plugin, m) => committer.submit(plugin, m),
      combiners: serviceCombiners(config.scanning),
      observe: (plugin, hook, s) => {
        metrics.hookSeconds.observe({ plugin, hook }, s);
      },
    });
  } catch (err) {
    await http?.close();
    throw err;
  }
  teardown.push(() => host.close());
  // Closed before the plugins: no page request runs against a closing plugin or database.
  if (http) teardown.push(() => http.close());
  const ingress = new Ingress({ config, host, spool, committer, clock, log, metrics });
  const transport =
    opts.transport ?? createTransport(config, { ourName: ingress.hostname, resolver: opts.resolver });
  teardown.push(() => transport.close());
  const running = new DeliveryScheduler(
    store,
    spool,
    transport,
    host,
    clock,
    log.child({ component: 'delivery' }),
    metrics,
    {
      concurrency: config.delivery.concurrency,
      pollMs: config.delivery.poll_interval,
      leaseMs: config.delivery.lease,
      retry: {
        minMs: config.delivery.retry_min,
        maxMs: config.delivery.retry_max,
        lifetimeMs: config.delivery.lifetime,
      },
      dsn: {
        submit: (m) => committer.submit('dsn', m),
        hostname: ingress.hostname,
        from: config.delivery.dsn.from,
        delayWarningMs: config.delivery.dsn.delay_warning,
      },
    },
  );
  scheduler = running;
  let graceMs = 10_000;
  teardown.push(() => running.stop(graceMs));
  teardown.push(() => jobs.stop());
  const keep = config.store.keep_finished;
  jobs.add('core', 'purge-finished', PURGE_EVERY_MS, async () => {
    if (keep > 0) await purgeFinished(store, clock.now(), keep, log);
    await compact(store);
  });
  if (http) httpPort = (await listenHttp(http, config.http.listen.host, config.http.listen.port)).port;
  // Released first on stop: no new sessions, and open ones finish before delivery stops.
  teardown.push(() => ingress.close());
  await ingress.listen();
  running.start();
  jobs.start();
  log.info(
    { plugins: host.plugins.map((p) => p.manifest.name), smtp: ingress.listeners, http: httpPort || 'off' },
    'smarthold started',
  );
  let stopping: Promise<void> | undefined;
  return {
    config,
    loaded,
    store,
    spool,
    host,
    http,
    listeners: ingress.listeners,
    smtpPort: ingress.listeners[0]?.port ?? 0,
    httpPort,
    jobs,
    log,
    kick: () => {
      running.kick();
    },
    stop(grace = 10_000) {
      graceMs = grace;
      stopping ??= release().then(() => {
        log.info('smarthold stopped');
      });
      return stopping;
    },
  };
}
