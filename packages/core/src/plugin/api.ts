/**
 * plugin/api.ts — the plugin contract: manifests, hooks, services, context.
 *
 * This is the public API that plugin packages compile against (PLUGIN_API_VERSION,
 * semver). It holds types and `definePlugin` only; plugin/host.ts runs them.
 *
 * The answer to "can a plugin use other plugins?": a plugin `provides` a named,
 * typed service and another `requires` it and calls it when its own logic
 * decides to. Service types are declared by augmenting {@link Services}:
 *
 * @example
 * declare module '@smarthold/core' {
 *   interface Services { 'sender-auth': SenderAuthService }
 * }
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Kysely, Migration } from 'kysely';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clock } from '../util/clock.js';
import type { CommandVerdict, MessageVerdict, Verdict } from './verdict.js';

/** The version of the plugin API described in this file. Plugins state the range they support in `core`. */
export const PLUGIN_API_VERSION = '1.1.0';

/** JSON-compatible data, the only thing the results store keeps. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/**
 * The registry of service types, keyed by service name. Empty in core; each
 * plugin that provides a service adds its entry by module augmentation.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}

/** A service name: a key of {@link Services}, or any string for untyped services. */
export type ServiceName = keyof Services | (string & {});
/** The type of a service: its declared type if known, otherwise unknown. */
export type ServiceType<N extends ServiceName> = N extends keyof Services ? Services[N] : unknown;

/** What smarthold knows about the SMTP client. */
export interface SessionInfo {
  /** Session id (also in logs as `session`). */
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Reverse DNS name, or the bracketed address when there is none. */
  readonly clientHostname: string;
  readonly localAddress: string;
  readonly localPort: number;
  /** The HELO/EHLO argument, once given. */
  readonly helo: string | undefined;
  readonly tls: boolean;
  /** The authenticated user, if any. */
  readonly user: string | undefined;
  /** True when the client's address is inside the relay networks. */
  readonly trustedNetwork: boolean;
}

/** One header field as received: the name as written and the unfolded value. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** The header block of the message, read-only. Names are matched case-insensitively. */
export interface Headers {
  /** Every value of the named field, top first. */
  get(name: string): readonly string[];
  /** The first (topmost) value of the named field. */
  first(name: string): string | undefined;
  /** All fields, top first. */
  all(): readonly HeaderField[];
}

/** A result recorded by a plugin. */
export interface ResultRecord {
  readonly plugin: string;
  readonly key: string;
  readonly value: Json;
  /** Set when the result is about one recipient. */
  readonly recipient?: string;
}

/** The per-transaction results store, as seen by one plugin. Results are persisted with the message. */
export interface Results {
  /** Records a result under the calling plugin's name. */
  set(key: string, value: Json, opts?: { recipient?: string }): void;
  /** Reads a result recorded by any plugin. */
  get(plugin: string, key: string, opts?: { recipient?: string }): Json | undefined;
  /** Every result recorded so far. */
  all(): readonly ResultRecord[];
}

/** A mail transaction (MAIL FROM to the end of DATA), as seen by hooks. */
export interface Transaction {
  /** The queue id the message will have if accepted (assigned at MAIL FROM). */
  readonly queueId: string;
  readonly session: SessionInfo;
  /** Envelope sender; '' for the null sender <>. */
  readonly from: string;
  /** Recipients accepted so far, as given at RCPT. */
  readonly to: readonly string[];
  readonly results: Results;
}

/** A transaction whose message has been received, spooled and parsed (data and queue hooks). */
export interface MessageTransaction extends Transaction {
  /** The original header block (without smarthold's own Received line). */
  readonly headers: Headers;
  /** Size in octets of the message as it will be relayed. */
  readonly size: number;
  /** The message as it will be relayed, read from the spool. Read-only: nothing a hook does changes it. */
  openMessage(): Readable;
}

/** What a delivery attempt did for one recipient. */
export interface DeliveryOutcome {
  readonly queueId: string;
  readonly from: string;
  readonly recipient: string;
  readonly status: 'delivered' | 'deferred' | 'bounced';
  /** The next hop's reply, or the local reason. */
  readonly reply: string;
  readonly relay: string;
  readonly attempts: number;
}

/** The hooks a plugin can register, with their arguments and allowed verdicts. */
export interface HookMap {
  connect: (session: SessionInfo) => Promise<CommandVerdict>;
  helo: (session: SessionInfo, helo: string) => Promise<CommandVerdict>;
  mail: (tx: Transaction) => Promise<CommandVerdict>;
  rcpt: (tx: Transaction, recipient: string) => Promise<CommandVerdict>;
  data: (tx: MessageTransaction) => Promise<MessageVerdict>;
  queue: (tx: MessageTransaction) => Promise<MessageVerdict>;
  delivery: (outcome: DeliveryOutcome) => Promise<void>;
}
export type HookName = keyof HookMap;

/** Options for one hook registration. */
export interface HookOptions {
  /** Deadline for this hook; defaults to `[smtp] hook_timeout`. */
  readonly timeoutMs?: number;
  /**
   * What a throw or an overrun means. `tempfail` (default) fails closed with a
   * 451; `continue` logs it and goes on as if the hook had no opinion.
   */
  readonly onError?: 'tempfail' | 'continue';
}

/** A message a plugin hands to the queue (notices, releases): delivered like any other mail. */
export interface SubmitMessage {
  readonly from: string;
  readonly to: readonly string[];
  /** The complete RFC 5322 message. */
  readonly raw: Buffer | string;
  /** Optional hold reason: the message is queued in hold instead of active. */
  readonly hold?: string;
}

/** A periodic job. */
export interface JobOptions {
  /** Interval between runs, in milliseconds. */
  readonly everyMs: number;
}

/**
 * A plugin's own tables in smarthold's database (the queue's SQLite file by
 * default, or the PostgreSQL or MySQL/MariaDB database of `[store]
 * database`), through Kysely. Name tables after the plugin
 * (`forward_limit_counters`), write migrations with Kysely's schema builder
 * so they run on every dialect, and keep them in order: they are tracked per
 * plugin and never edited once shipped. Numbers (bigint columns, count, sum)
 * read back as JS numbers on all three.
 */
export interface PluginData {
  // Each plugin brings its own table types; the host cannot know them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  /**
   * Which database `db` speaks, for the few statements that differ: MySQL has
   * no `RETURNING` and writes `ON CONFLICT` as `ON DUPLICATE KEY UPDATE`, and
   * cannot key or index a `text` column (use `varchar(N)`).
   */
  readonly dialect: 'sqlite' | 'postgres' | 'mysql';
  /** Applies this plugin's migrations (by name, in name order) that have not run yet. */
  migrate(migrations: Readonly<Record<string, Migration>>): Promise<void>;
}

/** One recipient of a queued message, as {@link PluginQueue.get} shows it. */
export interface QueuedRecipient {
  readonly address: string;
  /** active, deferred, hold, delivered, bounced or discarded. */
  readonly state: string;
  /** Why it is held, deferred or discarded. */
  readonly reason: string;
}

/** A queued message, as {@link PluginQueue.get} shows it. */
export interface QueuedMessage {
  readonly queueId: string;
  readonly sender: string;
  readonly size: number;
  /** Arrival time, milliseconds since the epoch. */
  readonly arrivalTime: number;
  readonly recipients: readonly QueuedRecipient[];
}

/**
 * The queue, as plugins may act on it (since API 1.1): read a held message,
 * release or discard its held recipients. Everything else (delivery, retries,
 * bounces) stays with smarthold.
 */
export interface PluginQueue {
  /** The message and its recipients, or undefined when it is not (or no longer) in the queue. */
  get(queueId: string): Promise<QueuedMessage | undefined>;
  /** The message bytes as received (and as they will be relayed). Fails when the body is gone. */
  open(queueId: string): Readable;
  /**
   * Moves held recipients (all, or those named) to active; delivery starts at
   * once. Returns how many moved: 0 when none was held (so a second release
   * does nothing).
   */
  release(queueId: string, recipients?: readonly string[]): Promise<number>;
  /** Marks held recipients (all, or those named) discarded; the body goes once nothing is pending. Returns how many. */
  discard(queueId: string, recipients?: readonly string[]): Promise<number>;
}

/** What `setup(ctx)` receives. Everything a plugin does with the host goes through here. */
export interface PluginContext<Config = unknown> {
  /** The plugin's name. */
  readonly name: string;
  /** The plugin's own config section, validated by its schema. */
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  /** A directory this plugin may keep files in (created on demand). */
  readonly dataDir: string;
  /** Registers a hook. */
  hook<H extends HookName>(name: H, fn: HookMap[H], opts?: HookOptions): void;
  /** Provides a service declared in the manifest's `provides`. */
  provide<N extends ServiceName>(name: N, impl: ServiceType<N>): void;
  /** Gets a service declared in the manifest's `requires` (or `optional`, which may be undefined). */
  service<N extends ServiceName>(name: N): ServiceType<N>;
  /** Gets an optional service, or undefined when no plugin provides it. */
  maybeService<N extends ServiceName>(name: N): ServiceType<N> | undefined;
  /** Registers HTTP routes on the shared listener. */
  http(register: (app: FastifyInstance) => void | Promise<void>): void;
  /** Registers a periodic job. */
  job(name: string, opts: JobOptions, run: () => Promise<void>): void;
  /** Queues a message for delivery, as ordinary mail. Resolves with its queue id once it is durable. */
  submit(message: SubmitMessage): Promise<string>;
  /** Registers a function to run at shutdown. */
  onClose(fn: () => Promise<void> | void): void;
  /** The plugin's own tables in smarthold's database. */
  readonly data: PluginData;
  /** Held messages: read, release, discard (since API 1.1). */
  readonly queue: PluginQueue;
  /** The URL by which users reach the HTTP listener, without a trailing slash (`[http] public_url`), for links in mail. */
  readonly publicUrl: string;
  /** The host name smarthold uses in SMTP and in its own mail (`[smtp] hostname`). */
  readonly hostname: string;
}

/** A plugin manifest: the default export of a plugin module. */
export interface PluginManifest<Schema extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly version: string;
  /** Semver range of the plugin API this plugin works with, e.g. "^1". */
  readonly core: string;
  readonly description?: string;
  /** zod schema of the plugin's config section (`[plugin.NAME]`); defaults fill in what is missing. */
  readonly config?: Schema;
  /** Services this plugin provides. */
  readonly provides?: readonly ServiceName[];
  /** Services this plugin needs; start-up stops if none provides them. */
  readonly requires?: readonly ServiceName[];
  /** Services this plugin uses when present. */
  readonly optional?: readonly ServiceName[];
  setup(ctx: PluginContext<z.output<Schema>>): void | Promise<void>;
}

/**
 * Defines a plugin. Returns the manifest unchanged, with types checked.
 *
 * @example
 * export default definePlugin({
 *   name: 'hello', version: '1.0.0', core: '^1',
 *   config: z.object({ greeting: z.string().default('hi') }),
 *   setup(ctx) {
 *     ctx.hook('rcpt', async () => verdict.next());
 *   },
 * });
 */
export function definePlugin<Schema extends z.ZodType>(
  manifest: PluginManifest<Schema>,
): PluginManifest<Schema> {
  return manifest;
}

/** Re-exported for plugin authors. */
export type { Verdict, CommandVerdict, MessageVerdict };
