/**
 * commands/config.ts — `smarthold config check|show`.
 *
 * check: validates the files, resolves every plugin and validates its section
 * (without listening on anything). show: the effective configuration as TOML,
 * or with --non-default only what the files set.
 */
import { stringify } from 'smol-toml';
import {
  configSchema,
  defaultConfigPath,
  loadConfig,
  loadPlugins,
  PluginHost,
  silentLogger,
} from '@smarthold/core';
import { inputSchema, renderEffective } from '@smarthold/core/config-render';
import { EX } from '../exit.js';

export async function check(opts: { config?: string }): Promise<number> {
  const file = opts.config ?? defaultConfigPath();
  const loaded = loadConfig(file);
  const plugins = await loadPlugins(loaded);
  // Each plugin's section and the requires/provides graph; setup is not run.
  const ordered = PluginHost.prepare(loaded.config, plugins, {
    log: silentLogger(),
    sources: loaded.sources,
  });
  process.stdout.write(
    `config OK: ${loaded.files.length ? loaded.files.join(', ') : 'built-in defaults (no file)'}\n` +
      `plugins (in run order): ${ordered.map((p) => `${p.manifest.name}@${p.manifest.version}`).join(', ') || 'none'}\n`,
  );
  return EX.OK;
}

/** Drops empty tables, so a file of commented-out defaults shows as nothing set. */
function pruned(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Date)) {
      const p = pruned(x as Record<string, unknown>);
      if (Object.keys(p).length) out[k] = p;
    } else out[k] = x;
  }
  return out;
}

export function show(opts: { config?: string; nonDefault?: boolean }): number {
  const file = opts.config ?? defaultConfigPath();
  const loaded = loadConfig(file);
  if (opts.nonDefault) {
    const set = pruned(loaded.raw);
    process.stdout.write(
      Object.keys(set).length ? stringify(set) + '\n' : '# everything is at its default\n',
    );
  } else {
    process.stdout.write(renderEffective(inputSchema(configSchema), loaded.raw) + '\n');
  }
  return EX.OK;
}
