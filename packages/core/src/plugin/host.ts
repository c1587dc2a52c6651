/**
 * plugin/host.ts — load, order and set up plugins; run their hooks.
 *
 * The host owns the service registry and the hook lists. For command hooks
 * (connect, helo, mail, rcpt) the first verdict that is not `continue` wins.
 * For message hooks (data, then queue) reject and tempfail end the run at
 * once; hold, discard and per-recipient outcomes merge, the strongest per
 * recipient winning (deliver < discard < hold: when plugins disagree, nothing
 * is lost). Turning verdicts into SMTP replies is smtp/reply.ts's job.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely, Migration } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { formatIssues } from '../config/load.js';
import { SmartholdError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type {
  DeliveryOutcome,
  HookMap,
  HookName,
  JobOptions,
  MessageTransaction,
  PluginContext,
  PluginManifest,
  PluginQueue,
  SessionInfo,
  SubmitMessage,
  Transaction,
} from './api.js';
import type { LoadedPlugin } from './load.js';
import { migratePlugin } from './migrate.js';
import { orderPlugins } from './order.js';
import type { ResultsStore } from './results.js';
import { callHook, type HookObserver, type RegisteredHook } from './run.js';
import type { CommandVerdict, MessageVerdict, RecipientOutcome } from './verdict.js';

/** Combines several providers of one service into one (e.g. spam scanners). */
export type ServiceCombiner = (providers: readonly { plugin: string; impl: unknown }[]) => unknown;

/** What the host needs from the rest of smarthold. */
export interface HostDeps {
  readonly log: Logger;
  readonly clock: Clock;
  readonly dataDir: string;
  readonly hookTimeoutMs: number;
  readonly sources: ReadonlyMap<string, string>;
  readonly http: (plugin: string, register: (app: FastifyInstance) => void | Promise<void>) => void;
  readonly job: (plugin: string, name: string, opts: JobOptions, run: () => Promise<void>) => void;
  readonly submit: (plugin: string, message: SubmitMessage) => Promise<string>;
  /** smarthold's database, for plugins' own tables. */
  readonly database: {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly db: Kysely<any>;
    readonly dialect: 'sqlite' | 'postgres' | 'mysql';
  };
  readonly combiners?: ReadonlyMap<string, ServiceCombiner>;
  readonly observe?: HookObserver;
  /** ctx.queue for every plugin. */
  readonly queue: PluginQueue;
  /** Base URL for links in mail, no trailing slash (read when used: the port may be known only after listening). */
  readonly publicUrl: () => string;
  /** smarthold's host name. */
  readonly hostname: string;
}

/** A plugin as the host keeps it. */
export interface HostedPlugin {
  readonly manifest: PluginManifest;
  readonly source: string;
  readonly config: unknown;
}

const SEVERITY: Record<RecipientOutcome['kind'], number> = { deliver: 0, discard: 1, hold: 2 };

/** The merged outcome of the message hooks when no hook refused the message. */
export interface MessageDecision {
  readonly kind: 'accept';
  readonly outcomes: ReadonlyMap<string, RecipientOutcome>;
}

export class PluginHost {
  readonly plugins: readonly HostedPlugin[];
  private readonly hooks = new Map<HookName, RegisteredHook[]>();
  private readonly providers = new Map<string, { plugin: string; impl: unknown }[]>();
  private readonly combined = new Map<string, unknown>();
  private readonly closers: (() => Promise<void> | void)[] = [];

  private constructor(
    plugins: HostedPlugin[],
    private readonly deps: HostDeps,
  ) {
    this.plugins = plugins;
  }

  /**
   * Validates each plugin's config section and orders the plugins by their
   * requires/provides graph, without setting anything up (`config check`
   * stops here). Throws SmartholdError on any problem.
   */
  static prepare(
    config: Config,
    loaded: readonly LoadedPlugin[],
    deps: Pick<HostDeps, 'log' | 'sources'>,
  ): HostedPlugin[] {
    const seen = new Set<string>();
    const hosted: HostedPlugin[] = [];
    for (const l of loaded) {
      const m = l.manifest;
      if (seen.has(m.name)) {
        throw new SmartholdError(
          'SMARTHOLD_PLUGIN_DUPLICATE',
          `plugin "${m.name}" is loaded twice (${l.spec})`,
        );
      }
      seen.add(m.name);
      const section = config.plugin[m.name] ?? config.plugin[l.spec] ?? {};
      let pluginConfig: unknown = section;
      if (m.config) {
        const r = m.config.safeParse(section);
        if (!r.success) {
          throw new SmartholdError(
            'SMARTHOLD_PLUGIN_CONFIG',
            `plugin "${m.name}": invalid configuration:\n${formatIssues(r.error.issues, deps.sources, ['plugin', m.name])}`,
            { key: `plugin.${m.name}` },
          );
        }
        pluginConfig = r.data;
      }
      hosted.push({ manifest: m, source: l.source, config: pluginConfig });
    }
    for (const name of Object.keys(config.plugin)) {
      if (!seen.has(name) && !loaded.some((l) => l.spec === name)) {
        deps.log.warn(
          { section: `plugin.${name}` },
          `config section [plugin.${name}] names no loaded plugin; it is ignored`,
        );
      }
    }
    const ordered = orderPlugins(
      hosted.map((h) => ({
        name: h.manifest.name,
        provides: h.manifest.provides ?? [],
        requires: h.manifest.requires ?? [],
        optional: h.manifest.optional ?? [],
        h,
      })),
    ).map((n) => n.h);
    return ordered;
  }

  /** Validates, orders and sets up the plugins. Throws SmartholdError on any problem. */
  static async create(config: Config, loaded: readonly LoadedPlugin[], deps: HostDeps): Promise<PluginHost> {
    const ordered = PluginHost.prepare(config, loaded, deps);
    const host = new PluginHost(ordered, deps);
    for (const p of ordered) {
      try {
        await p.manifest.setup(host.context(p));
      } catch (err) {
        if (err instanceof SmartholdError) throw err;
        throw new SmartholdError(
          'SMARTHOLD_PLUGIN_SETUP',
          `plugin "${p.manifest.name}" failed to set up: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    return host;
  }

  private context(p: HostedPlugin): PluginContext {
    const m = p.manifest;
    const name = m.name;
    const log = this.deps.log.child({ plugin: name });
    const declared = new Set<string>([...(m.requires ?? []), ...(m.optional ?? [])]);
    const dataDir = path.join(this.deps.dataDir, 'plugins', name);
    const lookup = (service: string, required: boolean): unknown => {
      if (!declared.has(service)) {
        throw new SmartholdError(
          'SMARTHOLD_SERVICE_UNKNOWN',
          `plugin "${name}" asked for service "${service}" but does not list it in requires or optional`,
        );
      }
      const impl = this.service(service);
      if (impl === undefined && required) {
        throw new SmartholdError(
          'SMARTHOLD_PLUGIN_MISSING_SERVICE',
          `plugin "${name}" requires "${service}", not provided`,
        );
      }
      return impl;
    };
    const publicUrl = this.deps.publicUrl;
    return {
      name,
      config: p.config,
      log,
      clock: this.deps.clock,
      get dataDir() {
        mkdirSync(dataDir, { recursive: true });
        return dataDir;
      },
      hook: (hook, fn, opts) => {
        const list = this.hooks.get(hook) ?? [];
        list.push({
          plugin: name,
          hook,
          fn,
          timeoutMs: opts?.timeoutMs ?? this.deps.hookTimeoutMs,
          onError: opts?.onError ?? 'tempfail',
        });
        this.hooks.set(hook, list);
      },
      provide: (service, impl) => {
        if (!(m.provides ?? []).includes(service)) {
          throw new SmartholdError(
            'SMARTHOLD_SERVICE_UNKNOWN',
            `plugin "${name}" provides "${service}" without declaring it in provides`,
          );
        }
        const list = this.providers.get(service) ?? [];
        if (list.length && !this.deps.combiners?.has(service)) {
          throw new SmartholdError(
            'SMARTHOLD_PLUGIN_DUPLICATE',
            `service "${service}" is provided by both "${list[0]?.plugin ?? '?'}" and "${name}"; load only one`,
          );
        }
        list.push({ plugin: name, impl });
        this.providers.set(service, list);
        this.combined.delete(service);
      },
      service: ((service: string) => lookup(service, true)) as PluginContext['service'],
      maybeService: ((service: string) => lookup(service, false)) as PluginContext['maybeService'],
      http: (register) => {
        this.deps.http(name, register);
      },
      job: (jobName, opts, run) => {
        this.deps.job(name, jobName, opts, run);
      },
      submit: (message) => this.deps.submit(name, message),
      queue: this.deps.queue,
      get publicUrl() {
        return publicUrl();
      },
      hostname: this.deps.hostname,
      onClose: (fn) => {
        this.closers.push(fn);
      },
      data: {
        db: this.deps.database.db,
        dialect: this.deps.database.dialect,
        migrate: (migrations: Readonly<Record<string, Migration>>) =>
          migratePlugin(this.deps.database.db, name, migrations),
      },
    };
  }

  /** The implementation of a service (combined when several plugins provide it), or undefined. */
  service(service: string): unknown {
    const list = this.providers.get(service);
    if (!list?.length) return undefined;
    if (list.length === 1) return list[0]?.impl;
    if (!this.combined.has(service)) {
      const combiner = this.deps.combiners?.get(service);
      this.combined.set(service, combiner ? combiner(list) : list[0]?.impl);
    }
    return this.combined.get(service);
  }

  /** Which plugins provide a service. */
  providersOf(service: string): string[] {
    return (this.providers.get(service) ?? []).map((p) => p.plugin);
  }

  /** Number of hooks registered under a name. */
  hookCount(hook: HookName): number {
    return this.hooks.get(hook)?.length ?? 0;
  }

  private opts(results: ResultsStore | undefined, recipient?: string) {
    return {
      results,
      log: this.deps.log,
      observe: this.deps.observe,
      now: () => this.deps.clock.now(),
      ...(recipient === undefined ? {} : { recipient }),
    };
  }

  /** Runs connect hooks. */
  connect(session: SessionInfo): Promise<CommandVerdict> {
    return this.command('connect', undefined, (fn) => (fn as HookMap['connect'])(session));
  }

  /** Runs helo hooks. */
  helo(session: SessionInfo, helo: string, results?: ResultsStore): Promise<CommandVerdict> {
    return this.command('helo', results, (fn) => (fn as HookMap['helo'])(session, helo));
  }

  /** Runs mail hooks. */
  mail(tx: Transaction, results: ResultsStore): Promise<CommandVerdict> {
    return this.command('mail', results, (fn, plugin) =>
      (fn as HookMap['mail'])({ ...tx, results: results.view(plugin) }),
    );
  }

  /** Runs rcpt hooks. */
  rcpt(tx: Transaction, recipient: string, results: ResultsStore): Promise<CommandVerdict> {
    return this.command(
      'rcpt',
      results,
      (fn, plugin) => (fn as HookMap['rcpt'])({ ...tx, results: results.view(plugin) }, recipient),
      recipient,
    );
  }

  private async command(
    hook: 'connect' | 'helo' | 'mail' | 'rcpt',
    results: ResultsStore | undefined,
    invoke: (fn: RegisteredHook['fn'], plugin: string) => Promise<CommandVerdict>,
    recipient?: string,
  ): Promise<CommandVerdict> {
    for (const reg of this.hooks.get(hook) ?? []) {
      const v = await callHook(reg, () => invoke(reg.fn, reg.plugin), this.opts(results, recipient));
      // Plugins may be plain JavaScript: compare the kind as a string, not as the typed union.
      const kind: string = v.kind;
      if (kind === 'continue') continue;
      if (kind === 'accept' || kind === 'reject' || kind === 'tempfail') return v;
      // A message verdict at a command hook is a plugin bug: fail closed.
      const bad = kind;
      this.deps.log.error(
        { plugin: reg.plugin, hook, verdict: bad },
        `verdict "${bad}" is not allowed at ${hook}`,
      );
      return {
        kind: 'tempfail',
        code: 451,
        enhanced: '4.3.0',
        text: 'Temporary local problem, try again later',
      };
    }
    return { kind: 'continue' };
  }

  /**
   * Runs data hooks, then queue hooks. Returns the first reject/tempfail, or
   * the merged per-recipient outcomes.
   */
  async message(
    tx: MessageTransaction,
    results: ResultsStore,
  ): Promise<MessageDecision | Extract<MessageVerdict, { kind: 'reject' | 'tempfail' }>> {
    const outcomes = new Map<string, RecipientOutcome>(tx.to.map((r) => [r, { kind: 'deliver' }]));
    const raise = (rcpt: string, o: RecipientOutcome): void => {
      const cur = outcomes.get(rcpt);
      if (cur && SEVERITY[o.kind] >= SEVERITY[cur.kind]) outcomes.set(rcpt, o);
    };
    for (const hook of ['data', 'queue'] as const) {
      for (const reg of this.hooks.get(hook) ?? []) {
        const view: MessageTransaction = { ...tx, results: results.view(reg.plugin) };
        const v = await callHook<MessageVerdict>(
          reg,
          () => (reg.fn as HookMap[typeof hook])(view),
          this.opts(results),
        );
        switch (v.kind) {
          case 'continue':
            break;
          case 'reject':
          case 'tempfail':
            return v;
          case 'hold':
          case 'discard':
            for (const r of tx.to) raise(r, v);
            break;
          case 'recipients':
            for (const [r, o] of Object.entries(v.outcomes)) {
              if (outcomes.has(r)) raise(r, o);
              else
                this.deps.log.warn(
                  { plugin: reg.plugin, recipient: r },
                  'outcome for an address that is not a recipient',
                );
            }
            break;
          default: {
            const bad = (v as { kind: string }).kind;
            this.deps.log.error(
              { plugin: reg.plugin, hook, verdict: bad },
              `verdict "${bad}" is not allowed at ${hook}`,
            );
            return {
              kind: 'tempfail',
              code: 451,
              enhanced: '4.3.0',
              text: 'Temporary local problem, try again later',
            };
          }
        }
      }
    }
    return { kind: 'accept', outcomes };
  }

  /** Tells delivery hooks about an outcome. Never throws; errors are logged. */
  async delivery(outcome: DeliveryOutcome): Promise<void> {
    for (const reg of this.hooks.get('delivery') ?? []) {
      await callHook(
        reg,
        async () => {
          await (reg.fn as HookMap['delivery'])(outcome);
          return { kind: 'continue' } as const;
        },
        this.opts(undefined),
      );
    }
  }

  /** Runs the plugins' close functions, last set up first. */
  async close(): Promise<void> {
    for (const fn of [...this.closers].reverse()) {
      try {
        await fn();
      } catch (err) {
        this.deps.log.error({ err }, 'plugin close function failed');
      }
    }
  }
}
