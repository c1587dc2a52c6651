/**
 * commands/init.ts — `smarthold init [DIR]`: write a commented default config.
 *
 * Writes DIR/smarthold.toml (every key shown with its default, commented out)
 * and an empty DIR/conf.d/. Never overwrites an existing file.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema } from '@smarthold/core';
import { STRICT_RECEIVERS } from '@smarthold/plugin-sender-auth';
import { inputSchema, renderCommentedToml } from '@smarthold/core/config-render';
import { EX } from '../exit.js';

/** The text `init` writes. */
export function defaultConfigText(): string {
  const core = renderCommentedToml(inputSchema(configSchema), [
    'smarthold.toml — written by `smarthold init`.',
    '',
    'Every key below shows its built-in default, commented out: uncomment a line to change it.',
    'Drop-in files in conf.d/*.toml are merged over this file in name order.',
    'Check with `smarthold config check`; see what differs from the defaults with `smarthold config show --non-default`.',
    'Reference: docs/reference/config.md; the quarantine: docs/guides/quarantine.md',
  ]);
  return `${core}
${pluginSections()}`;
}

/** The sections of the default plugins that an operator sets first. */
function pluginSections(): string {
  const list = (items: readonly string[]): string => `[\n${items.map((d) => `  "${d}",`).join('\n')}\n]`;
  return [
    '[plugin.sender-auth]',
    '# Who is "ours", and which receivers are strict (see docs/guides/sender-auth.md).',
    '# our_domains = ["example.net"]',
    '# our_networks = ["127.0.0.0/8", "::1/128"]',
    '# The starter list of strict receivers: mail to them is scanned, and spam to them held.',
    '# Replace it with your own list.',
    `filter_domains = ${list(STRICT_RECEIVERS)}`,
    '',
    '[plugin.quarantine]',
    '# Every key of the quarantine: docs/reference/config.md#plugin-quarantine',
    '# popular_threshold = 75',
    '# [plugin.quarantine.notice]',
    '# from = "Mail quarantine <postmaster@example.net>"',
    '',
  ].join('\n');
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
