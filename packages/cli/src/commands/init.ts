/**
 * commands/init.ts — `smarthold init [DIR]`: write a commented default config.
 *
 * Writes DIR/smarthold.toml (every key shown with its default, commented out)
 * and an empty DIR/conf.d/. Never overwrites an existing file.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema } from '@smarthold/core';
import { inputSchema, renderCommentedToml } from '@smarthold/core/config-render';
import { EX } from '../exit.js';

/** The text `init` writes. */
export function defaultConfigText(): string {
  return renderCommentedToml(inputSchema(configSchema), [
    'smarthold.toml — written by `smarthold init`.',
    '',
    'Every key below shows its built-in default, commented out: uncomment a line to change it.',
    'Drop-in files in conf.d/*.toml are merged over this file in name order.',
    'Check with `smarthold config check`; see what differs from the defaults with `smarthold config show --non-default`.',
    'Reference: docs/reference/config.md',
  ]);
}

export function init(dir: string | undefined): number {
  const target = path.resolve(dir ?? '.');
  const file = path.join(target, 'smarthold.toml');
  if (existsSync(file)) {
    process.stderr.write(`smarthold: ${file} exists; not overwriting it\n`);
    return EX.CANTCREAT;
  }
  mkdirSync(path.join(target, 'conf.d'), { recursive: true });
  writeFileSync(file, defaultConfigText(), { flag: 'wx' });
  process.stdout.write(`wrote ${file}\nstart with: smarthold start -c ${file}\n`);
  return EX.OK;
}
