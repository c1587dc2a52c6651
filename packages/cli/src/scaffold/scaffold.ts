/**
 * scaffold/scaffold.ts — write a new plugin package (`smarthold plugin new`,
 * `npm create smarthold-plugin`).
 *
 * Two dependency modes. Published (the default for plugin authors): the new
 * package depends on `@smarthold/core` and `@smarthold/testkit` by version
 * range, from the npm registry. Linked (the default when this CLI runs from a
 * smarthold checkout, or with `link`): `file:` specifiers pointing at the
 * checkout's packages/core and packages/testkit, which npm (install-links
 * false, its default) symlinks, so nothing is fetched or rebuilt for them and
 * their own dependencies (better-sqlite3 included) come from the checkout.
 * It writes files only; it does not run npm.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  gitignore,
  indexTestTs,
  indexTs,
  packageJson,
  packageName,
  readme,
  tsconfigJson,
  type DependencySource,
} from './templates.js';

/** A bad name, directory or --link: the command line's fault (exit 64, EX_USAGE). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The published ranges a new plugin depends on. */
export const PUBLISHED: DependencySource = { core: '^0.1.0', testkit: '^0.1.0' };

/** Options of {@link scaffoldPlugin}. */
export interface ScaffoldOptions {
  /** Plugin name ("hello"); a leading "smarthold-plugin-" is dropped. */
  readonly name: string;
  /** Directory the package directory is created in (default: the working directory). */
  readonly dir?: string;
  /**
   * Dependency mode: `true` links to the checkout this CLI runs from, a string
   * links to that checkout, `false` uses published versions, `undefined`
   * links when running from a checkout and uses published versions otherwise.
   */
  readonly link?: boolean | string;
}

/** What {@link scaffoldPlugin} wrote. */
export interface ScaffoldResult {
  /** The new package directory. */
  readonly dir: string;
  readonly packageName: string;
  /** The checkout linked to, when in linked mode. */
  readonly linkedTo: string | undefined;
  /** Files written, relative to `dir`. */
  readonly files: readonly string[];
}

/** True when `dir` is a smarthold source checkout (the monorepo root). */
export function isCheckout(dir: string): boolean {
  const pkg = path.join(dir, 'package.json');
  if (!existsSync(pkg) || !existsSync(path.join(dir, 'packages/core/package.json'))) return false;
  if (!existsSync(path.join(dir, 'packages/testkit/package.json'))) return false;
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'smarthold-monorepo';
  } catch {
    return false;
  }
}

/** The checkout this CLI runs from (packages/cli/dist/scaffold → root), if it runs from one. */
export function ownCheckout(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isCheckout(dir)) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Checks a plugin name; returns it without a "smarthold-plugin-" prefix. */
export function pluginName(raw: string): string {
  const name = raw.replace(/^smarthold-plugin-/, '');
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name) || name.length > 60) {
    throw new UsageError(
      `invalid plugin name "${raw}": use lower-case letters, digits and single hyphens, starting with a letter (e.g. "forward-limit")`,
    );
  }
  return name;
}

function linkTarget(link: ScaffoldOptions['link']): string | undefined {
  if (link === false) return undefined;
  if (typeof link === 'string') {
    const root = path.resolve(link);
    if (!isCheckout(root)) {
      throw new UsageError(
        `--link ${link}: not a smarthold checkout (no packages/core and packages/testkit)`,
      );
    }
    return root;
  }
  const own = ownCheckout();
  if (link === true && !own) {
    throw new UsageError('--link: this smarthold does not run from a checkout; give the path: --link DIR');
  }
  return own;
}

/** A `file:` specifier from `from` to `to`, with forward slashes (npm wants them on every system). */
function fileSpec(from: string, to: string): string {
  const rel = path.relative(from, to).split(path.sep).join('/');
  return `file:${rel.startsWith('.') ? rel : `./${rel}`}`;
}

/**
 * Writes `smarthold-plugin-NAME/` with package.json, tsconfig.json,
 * src/index.ts, src/index.test.ts, README.md and .gitignore. Refuses to
 * write into a non-empty directory.
 *
 * @example
 * const r = scaffoldPlugin({ name: 'hello', dir: '/tmp/work', link: false });
 * // r.dir === '/tmp/work/smarthold-plugin-hello'
 */
export function scaffoldPlugin(opts: ScaffoldOptions): ScaffoldResult {
  const name = pluginName(opts.name);
  const dir = path.resolve(opts.dir ?? process.cwd(), packageName(name));
  if (existsSync(dir) && readdirSync(dir).length) {
    throw new UsageError(`${dir} exists and is not empty; choose another name or --dir`);
  }
  const checkout = linkTarget(opts.link);
  const deps: DependencySource = checkout
    ? {
        core: fileSpec(dir, path.join(checkout, 'packages/core')),
        testkit: fileSpec(dir, path.join(checkout, 'packages/testkit')),
      }
    : PUBLISHED;
  const input = { name, deps };
  const files: [string, string][] = [
    ['package.json', packageJson(input)],
    ['tsconfig.json', tsconfigJson()],
    ['src/index.ts', indexTs(input)],
    ['src/index.test.ts', indexTestTs(input)],
    ['README.md', readme(input)],
    ['.gitignore', gitignore()],
  ];
  for (const [rel, text] of files) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return { dir, packageName: packageName(name), linkedTo: checkout, files: files.map(([rel]) => rel) };
}
