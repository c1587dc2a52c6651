/**
 * plugin/load.ts — find a plugin module from its name in the config.
 *
 * A name resolves, in order: to a manifest handed in by the embedding program;
 * a path ("./x.js", "/opt/p", a package directory); a short name
 * ("quarantine" → @smarthold/plugin-quarantine → smarthold-plugin-quarantine);
 * a full package name. A package says which module exports its manifest in
 * package.json `"smarthold": { "plugin": "./dist/index.js" }`, else its main
 * entry is used. It checks the shape and the API range; it does not set up.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import semver from 'semver';
import type { LoadedConfig } from '../config/load.js';
import { SmartholdError } from '../errors.js';
import { PLUGIN_API_VERSION, type PluginManifest } from './api.js';

/** A manifest with where it came from. */
export interface LoadedPlugin {
  readonly manifest: PluginManifest;
  /** The config name that found it. */
  readonly spec: string;
  /** File or package it came from ("(inline)" for handed-in manifests). */
  readonly source: string;
}

/** Package names a short name may stand for. */
export function candidateNames(spec: string): string[] {
  if (spec.startsWith('@') || spec.includes('/')) return [spec];
  return [`@smarthold/plugin-${spec}`, `smarthold-plugin-${spec}`, spec];
}

function isPath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || /^[A-Za-z]:[\\/]/.test(spec);
}

function entryOfPackage(dir: string): string {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    smarthold?: { plugin?: string };
    main?: string;
    exports?: unknown;
  };
  const rel = pkg.smarthold?.plugin ?? pkg.main ?? 'index.js';
  return path.resolve(dir, rel);
}

function resolvePackageDir(name: string, fromDirs: readonly string[]): string | undefined {
  for (const from of fromDirs) {
    try {
      const req = createRequire(path.join(from, 'noop.js'));
      return path.dirname(req.resolve(`${name}/package.json`));
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/** Checks that a module's default export looks like a manifest and fits this API version. */
export function checkManifest(value: unknown, source: string): PluginManifest {
  const m = (value as { default?: unknown } | undefined)?.default ?? value;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof (m as PluginManifest).name !== 'string' ||
    typeof (m as PluginManifest).setup !== 'function' ||
    typeof (m as PluginManifest).core !== 'string'
  ) {
    throw new SmartholdError(
      'SMARTHOLD_PLUGIN_INVALID',
      `${source} does not export a plugin manifest (expected a default export made with definePlugin({ name, version, core, setup }))`,
    );
  }
  const manifest = m as PluginManifest;
  if (!semver.validRange(manifest.core) || !semver.satisfies(PLUGIN_API_VERSION, manifest.core)) {
    throw new SmartholdError(
      'SMARTHOLD_PLUGIN_API_MISMATCH',
      `plugin "${manifest.name}" (${source}) needs plugin API "${manifest.core}", this smarthold has ${PLUGIN_API_VERSION}`,
    );
  }
  return manifest;
}

/**
 * Resolves and imports one plugin.
 *
 * @param searchDirs directories whose node_modules are searched (config dir, cwd, smarthold's own)
 */
export async function loadPlugin(
  spec: string,
  baseDir: string,
  searchDirs: readonly string[],
  inline: readonly PluginManifest[] = [],
): Promise<LoadedPlugin> {
  const handed = inline.find((m) => m.name === spec);
  if (handed) return { manifest: checkManifest(handed, `(inline ${spec})`), spec, source: '(inline)' };
  let file: string | undefined;
  if (isPath(spec)) {
    const p = path.resolve(baseDir, spec);
    if (!existsSync(p))
      throw new SmartholdError('SMARTHOLD_PLUGIN_NOT_FOUND', `plugin "${spec}": no such file ${p}`);
    file = statSync(p).isDirectory() ? entryOfPackage(p) : p;
  } else {
    const tried = candidateNames(spec);
    for (const name of tried) {
      const dir = resolvePackageDir(name, [baseDir, ...searchDirs]);
      if (dir) {
        file = entryOfPackage(dir);
        break;
      }
    }
    if (!file) {
      throw new SmartholdError(
        'SMARTHOLD_PLUGIN_NOT_FOUND',
        `plugin "${spec}" not found; tried ${tried.join(', ')} (install it with npm install ${tried[0] ?? spec})`,
      );
    }
  }
  const mod: unknown = await import(pathToFileURL(file).href);
  return { manifest: checkManifest(mod, file), spec, source: file };
}

/** smarthold's own install: plugins installed beside it resolve from here. */
const ownDir = path.dirname(fileURLToPath(import.meta.url));

/**
 * Loads every plugin named in `plugins`, in order, resolving from the config
 * directory, the working directory and smarthold's own install.
 */
export async function loadPlugins(
  loaded: LoadedConfig,
  inline: readonly PluginManifest[] = [],
): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const spec of loaded.config.plugins)
    out.push(await loadPlugin(spec, loaded.baseDir, [process.cwd(), ownDir], inline));
  return out;
}
