/**
 * config/load.ts — read smarthold.toml and conf.d/*.toml, merge, validate.
 *
 * Drop-ins in conf.d are read in name order and merged over the main file
 * (tables merge, arrays and values replace), as rspamd's local.d does. We
 * remember which file set each key so an error can name file and key. It does
 * not load plugins; their sections are validated by plugin/host.ts.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { z } from 'zod';
import { SmartholdError } from '../errors.js';
import { isTable } from '../util/merge.js';
import { checkRoutes } from './checks.js';
import { type Config, configSchema } from './schema.js';

/** A loaded configuration with where it came from. */
export interface LoadedConfig {
  readonly config: Config;
  /** The merged raw tables (before defaults), for `config show --non-default`. */
  readonly raw: Record<string, unknown>;
  /** Files read, main file first. Empty when running on built-in defaults. */
  readonly files: readonly string[];
  /** Directory relative paths resolve against. */
  readonly baseDir: string;
  /** Which file set a dotted key (for error messages). */
  readonly sources: ReadonlyMap<string, string>;
}

type Table = Record<string, unknown>;

function mergeInto(
  target: Table,
  source: Table,
  file: string,
  sources: Map<string, string>,
  prefix = '',
): void {
  for (const [k, v] of Object.entries(source)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const existing = target[k];
    if (isTable(v) && isTable(existing)) {
      mergeInto(existing, v, file, sources, key);
    } else {
      target[k] = isTable(v) ? structuredClone(v) : v;
      markSources(v, key, file, sources);
    }
  }
}

function markSources(v: unknown, key: string, file: string, sources: Map<string, string>): void {
  sources.set(key, file);
  if (isTable(v)) for (const [k, sub] of Object.entries(v)) markSources(sub, `${key}.${k}`, file, sources);
}

function readToml(file: string): Table {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SmartholdError('SMARTHOLD_CONFIG_READ', `${file}: cannot read: ${(err as Error).message}`, {
      cause: err,
      file,
    });
  }
  try {
    return parseToml(text);
  } catch (err) {
    throw new SmartholdError('SMARTHOLD_CONFIG_READ', `${file}: not valid TOML: ${(err as Error).message}`, {
      cause: err,
      file,
    });
  }
}

/** Formats a zod issue path as a dotted key: smtp.listen[0]. */
export function issueKey(pathParts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of pathParts) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Finds the file that set `key` or its nearest parent. */
export function sourceOf(sources: ReadonlyMap<string, string>, key: string): string | undefined {
  let k = key.replace(/\[\d+\]/g, '');
  for (;;) {
    const f = sources.get(k);
    if (f) return f;
    const dot = k.lastIndexOf('.');
    if (dot < 0) return undefined;
    k = k.slice(0, dot);
  }
}

/** Describes what a zod issue allows, when it can say. */
function allowed(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value')
    return `; allowed: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_type') return `; expected ${issue.expected}`;
  if (issue.code === 'unrecognized_keys') return '';
  return '';
}

/** Turns zod issues into one readable message, one line per problem: "file: key: what (allowed)". */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  sources: ReadonlyMap<string, string>,
  prefix: readonly PropertyKey[] = [],
  fallbackFile = '(defaults)',
): string {
  return issues
    .map((issue) => {
      const key = issueKey([...prefix, ...issue.path]);
      const file = sourceOf(sources, key) ?? fallbackFile;
      const extra =
        issue.code === 'unrecognized_keys'
          ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
          : issue.message;
      return `${file}: ${key || '(top)'}: ${extra}${allowed(issue)}`;
    })
    .join('\n');
}

/** Validates raw tables against the core schema. Throws SMARTHOLD_CONFIG_INVALID naming file and key. */
export function validateConfig(raw: Table, sources: ReadonlyMap<string, string>): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const first = result.error.issues[0];
    const key = first ? issueKey(first.path) : '';
    const file = sourceOf(sources, key);
    throw new SmartholdError('SMARTHOLD_CONFIG_INVALID', formatIssues(result.error.issues, sources), {
      ...(file ? { file } : {}),
      key,
    });
  }
  try {
    checkRoutes(result.data.delivery);
  } catch (err) {
    const where = sourceOf(sources, 'delivery.routes') ?? '(options)';
    throw new SmartholdError('SMARTHOLD_CONFIG_INVALID', `${where}: ${(err as Error).message}`, {
      file: where,
      key: 'delivery.routes',
    });
  }
  return result.data;
}

/** Where the config file is, when none is given: $SMARTHOLD_CONFIG, else ./smarthold.toml if it exists. */
export function defaultConfigPath(cwd = process.cwd()): string | undefined {
  const env = process.env['SMARTHOLD_CONFIG'];
  if (env) return path.resolve(cwd, env);
  const local = path.join(cwd, 'smarthold.toml');
  return existsSync(local) ? local : undefined;
}

/**
 * Loads a configuration. With no file, runs on built-in defaults.
 *
 * @example
 * const { config } = loadConfig('/etc/smarthold/smarthold.toml');
 */
export function loadConfig(
  file: string | undefined,
  overrides: Table = {},
  baseDirWithoutFile: string = process.cwd(),
): LoadedConfig {
  const sources = new Map<string, string>();
  const raw: Table = {};
  const files: string[] = [];
  let baseDir = baseDirWithoutFile;
  if (file !== undefined) {
    const main = path.resolve(file);
    baseDir = path.dirname(main);
    mergeInto(raw, readToml(main), main, sources);
    files.push(main);
    const dropDir = path.join(baseDir, 'conf.d');
    if (existsSync(dropDir)) {
      for (const name of readdirSync(dropDir)
        .filter((n) => n.endsWith('.toml'))
        .sort()) {
        const f = path.join(dropDir, name);
        mergeInto(raw, readToml(f), f, sources);
        files.push(f);
      }
    }
  }
  mergeInto(raw, overrides, '(options)', sources);
  const config = validateConfig(raw, sources);
  config.store.dir = path.resolve(baseDir, config.store.dir);
  return { config, raw, files, baseDir, sources };
}
