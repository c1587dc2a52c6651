/**
 * commands/quarantine.ts — `smarthold quarantine list`, `show`, `release`,
 * `delete`, `prefs`, `link` and `rotate`: held mail and preferences of the
 * outbound-spam quarantine, for the operator and support staff.
 *
 * Each command builds the plugin's QuarantineService in this process
 * ({@link openQuarantine}) over the same queue store and plugin database as
 * the running instance (SQLite in WAL mode, or PostgreSQL), so it works
 * whether smarthold runs or not. It does not deliver: a release moves the
 * held recipients to `active`, and the running instance (or the next one to
 * start) delivers them on its next queue poll; notices are queued the same
 * way. Learning requests land in the plugin's learn directory, which the
 * instance's `learn` job feeds to the scanners. Bad input exits 1 with a
 * message naming what is allowed.
 */
import path from 'node:path';
import {
  Committer,
  createLogger,
  createPluginQueue,
  defaultConfigPath,
  formatIssues,
  hostnameOf,
  isQueueId,
  loadConfig,
  migratePlugin,
  openPluginDatabase,
  openStore,
  publicUrl,
  SmartholdError,
  systemClock,
  type Config,
  type PluginQueue,
} from '@smarthold/core';
import {
  defaultNoticeFrom,
  type HeldMessage,
  isAddress,
  NoticeRenderer,
  QuarantineInputError,
  type QuarantineDatabase,
  QuarantineService,
  quarantineConfig,
  quarantineMigrations,
  type RecipientAction,
  type SenderAction,
} from '@smarthold/plugin-quarantine';
import {
  createSenderAuthService,
  readDomainList,
  senderAuthConfig,
  systemResolver,
} from '@smarthold/plugin-sender-auth';
import type { Kysely } from 'kysely';
import { EX } from '../exit.js';
import { isBusy, quietOnClosedPipe } from '../output.js';

/** Exit code for bad input and for a command that changed nothing (`release` of mail no longer held). */
const EX_FAILED = 1;
const OPERATOR = { kind: 'operator', person: true } as const;
export const HELD_STATES = ['held', 'released', 'discarded', 'expired', 'any'] as const;
const SENDER_ACTIONS: readonly SenderAction[] = ['quarantine', 'discard', 'bounce'];
const RECIPIENT_ACTIONS: readonly RecipientAction[] = ['hold', 'drop'];

/** The quarantine as this process sees it; `close()` releases the databases. */
export interface OpenedQuarantine {
  readonly service: QuarantineService;
  readonly queue: PluginQueue;
  readonly config: Config;
  close(): Promise<void>;
}

/** The plugin's data directory as the host derives it (core plugin/host.ts: `<store.dir>/plugins/<name>`). */
export function pluginDataDir(config: Config, plugin: string): string {
  return path.join(config.store.dir, 'plugins', plugin);
}

interface SectionSchema<T> {
  safeParse(
    v: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: Parameters<typeof formatIssues>[0] } };
}

/** Validates `[plugin.NAME]` as the host does; an invalid section exits 78. */
function section<T>(
  config: Config,
  name: string,
  schema: SectionSchema<T>,
  sources: ReadonlyMap<string, string>,
): T {
  const r = schema.safeParse(config.plugin[name] ?? {});
  if (r.success) return r.data;
  throw new SmartholdError(
    'SMARTHOLD_PLUGIN_CONFIG',
    `plugin "${name}": invalid configuration:\n${formatIssues(r.error.issues, sources, ['plugin', name])}`,
    { key: `plugin.${name}` },
  );
}

/**
 * Builds the QuarantineService the way the plugin's setup does, over the
 * store and plugin database of `config`: notices are submitted to the queue,
 * redirect targets are checked with sender-auth's filter, learning requests
 * go to the plugin's learn directory.
 *
 * @example
 * const q = await openQuarantine(loadConfig('smarthold.toml').config);
 * try { console.log(await q.service.list()); } finally { await q.close(); }
 */
export async function openQuarantine(
  config: Config,
  sources: ReadonlyMap<string, string> = new Map(),
): Promise<OpenedQuarantine> {
  if (!config.plugins.some((p) => p.includes('quarantine'))) {
    throw new SmartholdError(
      'SMARTHOLD_PLUGIN_CONFIG',
      `the configuration does not load the quarantine plugin (plugins = ${JSON.stringify(config.plugins)})`,
      { key: 'plugins' },
    );
  }
  const cfg = section(config, 'quarantine', quarantineConfig, sources);
  const authCfg = section(config, 'sender-auth', senderAuthConfig, sources);
  const cwd = process.cwd();
  const auth = createSenderAuthService({
    config: authCfg,
    ourDomains: [
      ...authCfg.our_domains,
      ...(authCfg.our_domains_file ? readDomainList(authCfg.our_domains_file, cwd) : []),
    ],
    filterDomains: [
      ...authCfg.filter_domains,
      ...(authCfg.filter_domains_file ? readDomainList(authCfg.filter_domains_file, cwd) : []),
    ],
    resolver: systemResolver,
    clock: systemClock,
  });
  const hostname = hostnameOf(config);
  const renderer = new NoticeRenderer({
    templatesDir: cfg.notice.templates ? path.resolve(cfg.notice.templates) : '',
    from: cfg.notice.from || defaultNoticeFrom(hostname),
    hostname,
    siteName: cfg.notice.site_name || hostname,
    now: () => systemClock.now(),
  });
  await renderer.check();
  // Warnings (a learning copy that could not be written) go to stderr: stdout is the command's output.
  const log = createLogger({ level: 'warn', destination: process.stderr });
  const { store, spool } = await openStore(config);
  let database: Awaited<ReturnType<typeof openPluginDatabase>> | undefined;
  try {
    database = await openPluginDatabase(config, store.db);
    await migratePlugin(database.db, 'quarantine', quarantineMigrations(database.dialect));
    // No kick: this process has no scheduler; the running instance polls the queue.
    const queue = createPluginQueue({ store, spool, clock: systemClock, kick: () => undefined });
    const committer = new Committer(spool, store, systemClock, log);
    const service = new QuarantineService({
      config: cfg,
      // The plugin database is untyped (each plugin brings its tables); these are the quarantine's.
      db: database.db as Kysely<QuarantineDatabase>,
      dialect: database.dialect,
      queue,
      submit: (m) => committer.submit('quarantine', m),
      renderer,
      clock: systemClock,
      log,
      publicUrl: () => publicUrl(config),
      isFiltered: async (a) => (await auth.isFiltered(a)).filtered,
      learnDir: path.join(pluginDataDir(config, 'quarantine'), 'learn'),
    });
    const db = database;
    return {
      service,
      queue,
      config,
      async close() {
        await db.close();
        await store.close();
      },
    };
  } catch (err) {
    await database?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}

const out = (text: string): void => {
  process.stdout.write(text + '\n');
};

function fail(message: string): number {
  process.stderr.write(`smarthold: ${message}\n`);
  return EX_FAILED;
}

/** Runs a command against the quarantine; input errors exit 1, a busy database 75. */
async function withQuarantine(
  configFile: string | undefined,
  fn: (q: OpenedQuarantine) => Promise<number>,
): Promise<number> {
  const loaded = loadConfig(configFile ?? defaultConfigPath());
  try {
    const q = await openQuarantine(loaded.config, loaded.sources);
    try {
      return await fn(q);
    } finally {
      await q.close();
    }
  } catch (err) {
    if (err instanceof QuarantineInputError) return fail(err.message);
    if (!isBusy(err)) throw err;
    process.stderr.write(
      `smarthold: the queue database is busy (${err instanceof Error ? err.message : String(err)}); try again\n`,
    );
    return EX.TEMPFAIL;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 19);
const cut = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** An address option: a mailbox, or `<>` for the null sender. */
function addressArg(value: string | undefined, what: string): string | undefined | Error {
  if (value === undefined) return undefined;
  if (value === '<>') return '';
  return isAddress(value) ? value : new Error(`${what} "${value}" is not a mail address (local@domain)`);
}

/** Why nothing happened to a message the quarantine does not hold (or no longer holds). */
async function notHeld(service: QuarantineService, id: string): Promise<string> {
  const h = await service.get(id);
  return h ? `not held (state: ${h.state})` : 'not in the quarantine';
}

export interface ListOptions {
  config?: string;
  sender?: string;
  recipient?: string;
  state?: (typeof HELD_STATES)[number];
  limit?: string;
  json?: boolean;
}

/** `quarantine list`: held mail (or another state), newest first; `--json` prints JSON Lines, one HeldMessage per line. */
export async function list(opts: ListOptions): Promise<number> {
  quietOnClosedPipe();
  const sender = addressArg(opts.sender, '--sender');
  const recipient = addressArg(opts.recipient, '--recipient');
  if (sender instanceof Error) return fail(sender.message);
  if (recipient instanceof Error) return fail(recipient.message);
  const state = opts.state ?? 'held';
  if (!HELD_STATES.includes(state)) return fail(`--state must be one of ${HELD_STATES.join(', ')}`);
  const limit = Number(opts.limit ?? '100');
  if (!/^\d+$/.test(opts.limit ?? '100') || limit < 1 || limit > 100_000) {
    return fail(`--limit must be a whole number from 1 to 100000 (got "${opts.limit ?? ''}")`);
  }
  const filter = {
    state,
    ...(sender === undefined ? {} : { sender }),
    ...(recipient === undefined ? {} : { recipient }),
  };
  return withQuarantine(opts.config, async ({ service }) => {
    const held = await service.list({ ...filter, limit });
    if (opts.json) {
      // JSON Lines, as `queue list --json`: each line parses alone, so `head` and `grep` keep it valid.
      for (const h of held) out(JSON.stringify(h));
      return EX.OK;
    }
    if (!held.length) {
      out(
        state === 'held' && sender === undefined && recipient === undefined
          ? 'Quarantine is empty'
          : 'No message matches',
      );
      return EX.OK;
    }
    out(
      `${'QUEUE ID'.padEnd(15)} ${'DATE (UTC)'.padEnd(19)} ${'STATE'.padEnd(9)} ${'SCORE'.padStart(6)}  ` +
        `${'SENDER'.padEnd(28)} ${'RECIPIENTS'.padEnd(32)} SUBJECT`,
    );
    for (const h of held) {
      out(
        `${h.queueId.padEnd(15)} ${iso(h.createdAt).replace('T', ' ')} ${h.state.padEnd(9)} ` +
          `${h.score.toFixed(1).padStart(6)}  ${cut(h.sender || '<>', 28).padEnd(28)} ` +
          `${cut(h.recipients.join(', '), 32).padEnd(32)} ${cut(h.subject, 40)}`,
      );
    }
    const total = await service.count(filter);
    out(`-- ${held.length} message(s)${total > held.length ? ` of ${total}; --limit N shows more` : ''}`);
    return EX.OK;
  });
}

/** The record in words: why held, score, rules, recipients, state. */
function recordText(h: HeldMessage, queued: Map<string, string>): string {
  const rcpt = h.recipients.map((r) => (queued.has(r) ? `${r} (${queued.get(r) ?? ''})` : r));
  return [
    `queue_id:    ${h.queueId}`,
    `state:       ${h.state}${h.state === 'held' ? '' : ` since ${iso(h.stateAt)}Z`}`,
    `held at:     ${iso(h.createdAt)}Z`,
    `sender:      <${h.sender}>${h.originIp ? ` (origin ${h.originIp})` : ''}`,
    `recipients:  ${rcpt.join(', ')}`,
    `subject:     ${h.subject}`,
    `size:        ${h.size} bytes`,
    `score:       ${h.score} (threshold ${h.threshold}${h.scanner ? `, scanner ${h.scanner}` : ''})`,
    `rules:       ${h.rules.join(', ') || '(none)'}`,
    `why held:    ${h.reason}`,
    `sender told: ${h.action === 'reject' ? 'yes (reject with the release URL)' : `no (${h.action})`}`,
  ].join('\n');
}

/** `quarantine show ID`: the record and the message's header block. */
export async function show(id: string, opts: { config?: string; json?: boolean }): Promise<number> {
  quietOnClosedPipe();
  if (!isQueueId(id)) return fail(`"${id}" is not a queue id`);
  return withQuarantine(opts.config, async ({ service, queue }) => {
    const h = await service.get(id);
    if (!h) return fail(`${id} is not in the quarantine`);
    let headers: string | null = null;
    try {
      headers = await service.headers(id);
    } catch {
      // Released, discarded or expired: the body has left the spool.
    }
    const queued = new Map(
      ((await queue.get(id))?.recipients ?? []).map((r) => [r.address.toLowerCase(), r.state]),
    );
    if (opts.json) {
      out(JSON.stringify({ ...h, queue: Object.fromEntries(queued), headers }, null, 2));
      return EX.OK;
    }
    out(recordText(h, queued));
    out(
      headers === null
        ? '\n(the message is no longer in the spool)'
        : `\nheaders:\n${headers.replace(/\r\n/g, '\n')}`,
    );
    return EX.OK;
  });
}

/** Queue ids given on the command line, all well-formed, or an error message. */
function checkIds(ids: readonly string[]): string | undefined {
  const bad = ids.filter((i) => !isQueueId(i));
  return bad.length ? `not a queue id: ${bad.map((b) => `"${b}"`).join(', ')}` : undefined;
}

/** `quarantine release ID... [--recipient ADDR]`: the running instance delivers on its next poll. */
export async function release(ids: string[], opts: { config?: string; recipient?: string }): Promise<number> {
  const bad = checkIds(ids);
  if (bad) return fail(bad);
  const only = addressArg(opts.recipient, '--recipient');
  if (only instanceof Error || only === '')
    return fail(only instanceof Error ? only.message : '--recipient needs an address');
  return withQuarantine(opts.config, async ({ service }) => {
    let released = 0;
    for (const id of ids) {
      const n = await service.release(id, OPERATOR, only);
      if (n) {
        released++;
        out(
          `${id}: released to ${n} recipient(s)${only ? ` (${only} only)` : ''}; delivered on the next queue poll`,
        );
      } else {
        const h = await service.get(id);
        const why = !h
          ? 'not in the quarantine'
          : h.state !== 'held'
            ? `not held (state: ${h.state})`
            : only
              ? `no copy held for ${only}`
              : 'nothing left to release';
        process.stderr.write(`smarthold: ${id}: ${why}\n`);
      }
    }
    return released ? EX.OK : EX_FAILED;
  });
}

/** `quarantine delete ID...`: discards held messages (never delivered). */
export async function remove(ids: string[], opts: { config?: string }): Promise<number> {
  const bad = checkIds(ids);
  if (bad) return fail(bad);
  return withQuarantine(opts.config, async ({ service }) => {
    let discarded = 0;
    for (const id of ids) {
      if (await service.discard(id, OPERATOR)) {
        discarded++;
        out(`${id}: discarded (not delivered, body removed)`);
      } else {
        process.stderr.write(`smarthold: ${id}: ${await notHeld(service, id)}\n`);
      }
    }
    return discarded ? EX.OK : EX_FAILED;
  });
}

/** One `--set` of `quarantine prefs`, parsed. */
export type PrefChange =
  | { readonly key: 'sender.action'; readonly action: SenderAction }
  | { readonly key: 'sender.renotify_days'; readonly days: number | null }
  | { readonly key: 'recipient.action'; readonly action: 'hold' | 'drop' }
  | { readonly key: 'recipient.redirect'; readonly to: string }
  | { readonly key: 'unsubscribed'; readonly unsubscribed: boolean };

export const PREF_KEYS =
  'sender.action=quarantine|discard|bounce, sender.renotify_days=N|default, ' +
  'recipient.action=hold|drop, recipient.redirect=ADDRESS (empty: hold again), ' +
  'unsubscribed=yes|no (mail pages send on request: access links, redirect confirmations)';

/** Parses `KEY=VALUE`; throws an Error naming the valid keys and values. */
export function parsePrefChange(text: string): PrefChange {
  const eq = text.indexOf('=');
  const k = eq < 0 ? text : text.slice(0, eq);
  const v = eq < 0 ? undefined : text.slice(eq + 1).trim();
  const bad = (why: string): Error => new Error(`--set ${text}: ${why}; valid: ${PREF_KEYS}`);
  if (v === undefined) throw bad('expected KEY=VALUE');
  switch (k) {
    case 'sender.action':
      if (!(SENDER_ACTIONS as readonly string[]).includes(v))
        throw bad(`sender.action is one of ${SENDER_ACTIONS.join(', ')}`);
      return { key: k, action: v as SenderAction };
    case 'sender.renotify_days':
      if (v === 'default') return { key: k, days: null };
      if (!/^\d+$/.test(v) || Number(v) > 3650)
        throw bad('sender.renotify_days is a whole number from 0 to 3650, or default');
      return { key: k, days: Number(v) };
    case 'recipient.action':
      if (v === 'redirect') throw bad('set recipient.redirect=ADDRESS to redirect');
      if (!(RECIPIENT_ACTIONS as readonly string[]).includes(v))
        throw bad('recipient.action is hold or drop');
      return { key: k, action: v as 'hold' | 'drop' };
    case 'recipient.redirect':
      if (v !== '' && !isAddress(v)) throw bad(`"${v}" is not a mail address`);
      return { key: k, to: v };
    case 'unsubscribed':
      if (v !== 'yes' && v !== 'no') throw bad('unsubscribed is yes or no');
      return { key: k, unsubscribed: v === 'yes' };
    default:
      throw bad(`unknown key "${k}"`);
  }
}

/**
 * `quarantine prefs ADDRESS [--set KEY=VALUE ...]`: shows (and changes) the
 * address's sender and recipient prefs, and whether it unsubscribed from the
 * mail pages send on request (`--set unsubscribed=no` is the way back).
 */
export async function prefs(
  address: string,
  opts: { config?: string; set?: string[]; json?: boolean },
): Promise<number> {
  if (!isAddress(address)) return fail(`"${address}" is not a mail address (local@domain)`);
  let changes: PrefChange[];
  try {
    changes = (opts.set ?? []).map(parsePrefChange);
  } catch (err) {
    return fail((err as Error).message);
  }
  return withQuarantine(opts.config, async ({ service }) => {
    for (const c of changes) {
      // An operator's redirect needs no confirmation mail; it sends the mail held for the address there.
      // Recipient changes go first, so a refused redirect (a filtered target) leaves the sender's untouched.
      if (c.key === 'recipient.redirect') {
        await service.setRecipientPrefs(
          address,
          c.to ? { action: 'redirect', to: c.to, confirmed: true } : { action: 'hold' },
        );
      } else if (c.key === 'recipient.action') {
        await service.setRecipientPrefs(address, { action: c.action });
      }
    }
    const senderChange: { action?: SenderAction; renotifyDays?: number | null } = {};
    for (const c of changes) {
      if (c.key === 'sender.action') senderChange.action = c.action;
      if (c.key === 'sender.renotify_days') senderChange.renotifyDays = c.days;
    }
    if (Object.keys(senderChange).length) await service.setSenderPrefs(address, senderChange);
    for (const c of changes) {
      if (c.key !== 'unsubscribed') continue;
      if (c.unsubscribed) await service.unsubscribe(address, 'operator');
      else await service.resubscribe(address);
    }
    const sender = await service.senderPrefs(address);
    const recipient = await service.recipientPrefs(address);
    const unsubscribed = (await service.unsubscribed(address)) ?? null;
    if (opts.json) {
      out(JSON.stringify({ sender, recipient, unsubscribed }, null, 2));
      return EX.OK;
    }
    const known = (k: boolean): string => (k ? '' : ' (no record: defaults)');
    out(
      [
        `sender ${sender.address}${known(sender.known)}`,
        `  action          ${sender.action}`,
        `  renotify_days   ${sender.renotifyDays ?? `default (${service.config.notice.sender_interval})`}`,
        `  spam_count      ${sender.spamCount}`,
        `  discarded       ${sender.discardedCount}`,
        `recipient ${recipient.address}${known(recipient.known)}`,
        `  action          ${recipient.action}${recipient.action === 'redirect' ? ` to ${recipient.redirectTo ?? '?'}` : ''}`,
        `  spam_count      ${recipient.spamCount}`,
        `  held_unnotified ${recipient.heldSinceNotice}`,
        `  last_letter     ${recipient.lastNotifiedAt ? `${iso(recipient.lastNotifiedAt)}Z` : 'never'}`,
        `unsubscribed from mail pages send on request: ${unsubscribed ? `yes, since ${iso(unsubscribed.at)}Z (${unsubscribed.via})` : 'no'}`,
      ].join('\n'),
    );
    return EX.OK;
  });
}

/** Says where links point when `[http] public_url` is not set (the listener address may not be reachable). */
function noteUrl(config: Config): void {
  if (!config.http.public_url) {
    process.stderr.write(
      `smarthold: note: [http] public_url is not set; links use the listener address ${publicUrl(config)}\n`,
    );
  }
}

/** `quarantine link sender|recipient ADDRESS`: a fresh page link (earlier ones keep working). */
export async function link(
  kind: 'sender' | 'recipient',
  address: string,
  opts: { config?: string },
): Promise<number> {
  if (!isAddress(address)) return fail(`"${address}" is not a mail address (local@domain)`);
  return withQuarantine(opts.config, async ({ service, config }) => {
    noteUrl(config);
    out(await service.link(kind, address));
    return EX.OK;
  });
}

/** `quarantine rotate sender|recipient ADDRESS`: every earlier link of the address stops working; prints a new one. */
export async function rotate(
  kind: 'sender' | 'recipient',
  address: string,
  opts: { config?: string },
): Promise<number> {
  if (!isAddress(address)) return fail(`"${address}" is not a mail address (local@domain)`);
  return withQuarantine(opts.config, async ({ service, config }) => {
    noteUrl(config);
    const url = await service.rotate(kind, address);
    out(`earlier ${kind} links of ${address.toLowerCase()} no longer work; the new one:\n${url}`);
    return EX.OK;
  });
}
