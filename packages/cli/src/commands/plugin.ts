/**
 * commands/plugin.ts — `smarthold plugin new|list|info`.
 *
 * new: scaffolds a plugin package (scaffold/scaffold.ts). list: the plugins a
 * config loads, in run order (PluginHost.prepare: requires/provides graph),
 * with version, source and services. info: one plugin's description,
 * services and config table, rendered from its zod schema by core's config
 * renderer. Nothing here sets a plugin up or opens the store.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  defaultConfigPath,
  loadConfig,
  loadPlugin,
  loadPlugins,
  PluginHost,
  silentLogger,
  type LoadedPlugin,
  type PluginManifest,
} from '@smarthold/core';
import { defaultsOf, inputSchema, renderReference } from '@smarthold/core/config-render';
import { EX } from '../exit.js';
import { scaffoldPlugin, UsageError } from '../scaffold/scaffold.js';

/** `smarthold plugin new NAME [--dir DIR] [--link [CHECKOUT] | --no-link]`. */
export function pluginNew(name: string, opts: { dir?: string; link?: boolean | string }): number {
  let r;
  try {
    r = scaffoldPlugin({
      name,
      ...(opts.dir !== undefined ? { dir: opts.dir } : {}),
      ...(opts.link !== undefined ? { link: opts.link } : {}),
    });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`smarthold: ${err.message}\n`);
    return EX.USAGE;
  }
  const relative = path.relative(process.cwd(), r.dir);
  const rel = relative.startsWith('..') || path.isAbsolute(relative) ? r.dir : relative;
  process.stdout.write(
    `created ${r.packageName} in ${r.dir}\n` +
      (r.linkedTo
        ? `  @smarthold/core and @smarthold/testkit: file: links to the checkout ${r.linkedTo}\n`
        : `  @smarthold/core and @smarthold/testkit: published versions from the npm registry\n`) +
      `next:\n  cd ${rel}\n  npm install\n  npm test\n`,
  );
  return EX.OK;
}

/** One line of `plugin list --json`. */
export interface PluginListEntry {
  readonly order: number;
  readonly name: string;
  readonly version: string;
  /** The name the config used (`plugins = [...]`). */
  readonly spec: string;
  readonly source: string;
  readonly core: string;
  readonly provides: readonly string[];
  readonly requires: readonly string[];
  readonly optional: readonly string[];
}

/** The plugins a config loads, in run order, without setting them up. */
export async function pluginEntries(configFile: string | undefined): Promise<PluginListEntry[]> {
  const loaded = loadConfig(configFile);
  const plugins = await loadPlugins(loaded);
  const ordered = PluginHost.prepare(loaded.config, plugins, {
    log: silentLogger(),
    sources: loaded.sources,
  });
  return ordered.map((h, i) => {
    const m = h.manifest;
    return {
      order: i + 1,
      name: m.name,
      version: m.version,
      spec: plugins.find((l) => l.manifest === m)?.spec ?? m.name,
      source: h.source,
      core: m.core,
      provides: [...(m.provides ?? [])],
      requires: [...(m.requires ?? [])],
      optional: [...(m.optional ?? [])],
    };
  });
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return (
    rows
      .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  '))
      .join('\n') + '\n'
  );
}

/** `smarthold plugin list [-c FILE] [--json]`. */
export async function pluginList(opts: { config?: string; json?: boolean }): Promise<number> {
  const entries = await pluginEntries(opts.config ?? defaultConfigPath());
  if (opts.json) {
    process.stdout.write(entries.map((e) => JSON.stringify(e) + '\n').join(''));
    return EX.OK;
  }
  if (!entries.length) {
    process.stdout.write('no plugins loaded (add names to `plugins` in smarthold.toml)\n');
    return EX.OK;
  }
  const list = (xs: readonly string[]): string => xs.join(',') || '-';
  process.stdout.write(
    table([
      ['#', 'plugin', 'version', 'provides', 'requires', 'source'],
      ...entries.map((e) => [
        String(e.order),
        e.name,
        e.version,
        list(e.provides),
        list(e.requires) + (e.optional.length ? ` (optional: ${list(e.optional)})` : ''),
        e.source,
      ]),
    ]),
  );
  return EX.OK;
}

/** smarthold's own install: plugins installed beside it resolve from here (as in core's loadPlugins). */
const ownDir = path.dirname(fileURLToPath(import.meta.url));

async function findPlugin(name: string, configFile: string | undefined): Promise<LoadedPlugin> {
  const baseDir = configFile ? path.dirname(path.resolve(configFile)) : process.cwd();
  return loadPlugin(name, baseDir, [process.cwd(), ownDir]);
}

/** The `[plugin.NAME]` table of a manifest's config schema, or a line saying it has none. */
export function configReference(m: PluginManifest): string {
  if (!m.config) return `The plugin has no configuration section.\n`;
  const schema = inputSchema(m.config);
  if (!Object.keys(schema.properties ?? {}).length) return `The plugin has no configuration keys.\n`;
  return renderReference({ type: 'object', properties: { [m.name]: schema } }, (k) => `[plugin.${k}]`) + '\n';
}

/** `smarthold plugin info NAME [-c FILE] [--json]`. */
export async function pluginInfo(name: string, opts: { config?: string; json?: boolean }): Promise<number> {
  const { manifest: m, source } = await findPlugin(name, opts.config);
  const schema = m.config ? inputSchema(m.config) : undefined;
  if (opts.json) {
    process.stdout.write(
      JSON.stringify({
        name: m.name,
        version: m.version,
        description: m.description ?? '',
        source,
        core: m.core,
        provides: m.provides ?? [],
        requires: m.requires ?? [],
        optional: m.optional ?? [],
        config: schema ?? null,
        defaults: schema ? defaultsOf(schema) : {},
      }) + '\n',
    );
    return EX.OK;
  }
  const list = (xs: readonly string[] | undefined): string => (xs?.length ? xs.join(', ') : '-');
  process.stdout.write(
    `# ${m.name} ${m.version}\n\n` +
      (m.description ? `${m.description}\n\n` : '') +
      `source:   ${source}\n` +
      `core:     ${m.core} (plugin API range)\n` +
      `provides: ${list(m.provides)}\n` +
      `requires: ${list(m.requires)}\n` +
      `optional: ${list(m.optional)}\n\n` +
      configReference(m),
  );
  return EX.OK;
}
