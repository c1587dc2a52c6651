#!/usr/bin/env node
/**
 * main.ts — `npm create smarthold-plugin NAME [--dir DIR] [--link [CHECKOUT] | --no-link]`.
 *
 * A thin bin over the scaffold in the `smarthold` package, so that
 * `npm create smarthold-plugin` and `smarthold plugin new` write the same
 * files. It parses arguments and prints what to do next; nothing else.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { scaffoldPlugin, UsageError, type ScaffoldOptions } from 'smarthold';

const USAGE = 'usage: npm create smarthold-plugin NAME [-- --dir DIR] [--link [CHECKOUT] | --no-link]\n';

/** Runs the command with `argv` (without node and the script); returns the exit code. */
export function main(argv: readonly string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        link: { type: 'boolean' },
        'no-link': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`create-smarthold-plugin: ${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [name, checkout, ...extra] = positionals;
  if (name === undefined || extra.length || (checkout !== undefined && !values.link)) {
    process.stderr.write(USAGE);
    return 64;
  }
  // --link takes an optional checkout path as the positional after NAME.
  const link: ScaffoldOptions['link'] = values['no-link']
    ? false
    : values.link
      ? (checkout ?? true)
      : undefined;
  try {
    const r = scaffoldPlugin({
      name,
      ...(values.dir !== undefined ? { dir: values.dir } : {}),
      ...(link !== undefined ? { link } : {}),
    });
    const relative = path.relative(process.cwd(), r.dir);
    const rel = relative.startsWith('..') || path.isAbsolute(relative) ? r.dir : relative;
    process.stdout.write(
      `created ${r.packageName} in ${r.dir}` +
        (r.linkedTo ? ` (@smarthold/core and @smarthold/testkit linked to ${r.linkedTo})` : '') +
        `\nnext:\n  cd ${rel}\n  npm install\n  npm test\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`create-smarthold-plugin: ${err.message}\n`);
      return 64;
    }
    throw err;
  }
}

process.exitCode = main(process.argv.slice(2));
