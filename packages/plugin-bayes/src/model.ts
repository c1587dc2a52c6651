/**
 * model.ts — token counts: the shipped model, the locally learnt layer on top
 * of it, loading, validation and atomic persistence.
 *
 * A model is a message count per class and, per token, how many spam and ham
 * messages contained it. The shipped model is read-only; `learn()` only ever
 * changes the local layer, which is saved as JSON in the plugin's data
 * directory (temp file, fsync, rename, fsync of the directory). This module
 * does no tokenizing and no scoring.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_TOKENIZER, type TokenizerOptions } from './tokenize.js';
import { DEFAULT_PARAMS, type ClassifierParams } from './classifier.js';

export const MODEL_FORMAT = 'smarthold-bayes/1';

/** Spam and ham message counts for one token. */
export type Counts = readonly [spam: number, ham: number];

/** Read access to a model: what the classifier needs. */
export interface CountSource {
  readonly nspam: number;
  readonly nham: number;
  counts(token: string): Counts | undefined;
}

/** A model's metadata, as stored in its JSON file. */
export interface ModelInfo {
  readonly trained?: string;
  readonly source?: string;
  readonly sets?: readonly string[];
  readonly tokenizer: TokenizerOptions;
  readonly classifier: ClassifierParams;
}

const fileSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  trained: z.string().optional(),
  source: z.string().optional(),
  sets: z.array(z.string()).optional(),
  tokenizer: z
    .object({ bigrams: z.boolean(), maxWordLength: z.number().int().positive() })
    .default(DEFAULT_TOKENIZER),
  classifier: z
    .object({
      strength: z.number().positive(),
      prior: z.number().min(0).max(1),
      minDistance: z.number().min(0).max(0.5),
      maxTokens: z.number().int().positive(),
    })
    .default(DEFAULT_PARAMS),
  nspam: z.number().int().nonnegative(),
  nham: z.number().int().nonnegative(),
  // The token table (100k entries) is checked entry by entry in parseModel, not copied by zod.
  tokens: z.record(z.string(), z.unknown()),
});

/**
 * Pruning rule of a shipped model: single tokens are always kept (rare hammy
 * words are what protects mail from unseen senders, as cross-validation by
 * source showed); word pairs need `minPairCount` messages.
 */
export function keepToken(token: string, c: Counts, minPairCount: number): boolean {
  return c[0] + c[1] >= minPairCount || !token.includes('bi:');
}

/** A mutable set of counts: the result of training, or the local layer. */
export class TokenCounts implements CountSource {
  nspam = 0;
  nham = 0;
  readonly table = new Map<string, [number, number]>();

  counts(token: string): Counts | undefined {
    return this.table.get(token);
  }

  /** Adds (or with `sign = -1` removes) one message's tokens. */
  add(tokens: Iterable<string>, label: 'spam' | 'ham', sign: 1 | -1 = 1): void {
    const index = label === 'spam' ? 0 : 1;
    if (label === 'spam') this.nspam = Math.max(0, this.nspam + sign);
    else this.nham = Math.max(0, this.nham + sign);
    for (const token of tokens) {
      let entry = this.table.get(token);
      if (!entry) {
        if (sign < 0) continue;
        entry = [0, 0];
        this.table.set(token, entry);
      }
      entry[index] = Math.max(0, entry[index] + sign);
      if (entry[0] === 0 && entry[1] === 0) this.table.delete(token);
    }
  }

  /** Serializes with metadata; word pairs seen in fewer than `minPairCount` messages are dropped. */
  serialize(info: ModelInfo, minPairCount = 1): object {
    const tokens: Record<string, Counts> = {};
    const sorted = [...this.table.entries()]
      .filter(([t, c]) => keepToken(t, c, minPairCount))
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [token, c] of sorted) tokens[token] = [c[0], c[1]];
    return { format: MODEL_FORMAT, ...info, nspam: this.nspam, nham: this.nham, tokens };
  }
}

/** The shipped (or configured) model under the local layer: counts are summed. */
export class LayeredModel implements CountSource {
  constructor(
    readonly base: CountSource,
    readonly local: TokenCounts,
    readonly info: ModelInfo,
  ) {}

  get nspam(): number {
    return this.base.nspam + this.local.nspam;
  }

  get nham(): number {
    return this.base.nham + this.local.nham;
  }

  counts(token: string): Counts | undefined {
    const a = this.base.counts(token);
    const b = this.local.counts(token);
    if (!b) return a;
    if (!a) return b;
    return [a[0] + b[0], a[1] + b[1]];
  }
}

/** Two non-negative integers: a token's spam and ham counts. */
function isCounts(c: unknown): c is [number, number] {
  return (
    Array.isArray(c) &&
    c.length === 2 &&
    Number.isInteger(c[0]) &&
    Number.isInteger(c[1]) &&
    (c[0] as number) >= 0 &&
    (c[1] as number) >= 0
  );
}

/** Parses a model file's text. Throws with the file name when it is not a model. */
export function parseModel(text: string, origin: string): { counts: TokenCounts; info: ModelInfo } {
  const raw = JSON.parse(text) as { tokens?: unknown };
  // Validate the small fields with zod, and the token table by hand without copying it: a
  // zod record would duplicate 100k entries and double the memory peak at start-up.
  const tokens = raw.tokens;
  const parsed = fileSchema.safeParse({ ...raw, tokens: {} });
  if (!parsed.success)
    throw new Error(
      `${origin}: not a ${MODEL_FORMAT} model: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  if (typeof tokens !== 'object' || tokens === null || Array.isArray(tokens)) {
    throw new Error(`${origin}: not a ${MODEL_FORMAT} model: tokens is not an object`);
  }
  const data = parsed.data;
  const counts = new TokenCounts();
  counts.nspam = data.nspam;
  counts.nham = data.nham;
  const table = tokens as Record<string, unknown>;
  for (const token in table) {
    const c = table[token];
    if (!isCounts(c)) {
      throw new Error(
        `${origin}: not a ${MODEL_FORMAT} model: token ${JSON.stringify(token)} has bad counts`,
      );
    }
    counts.table.set(token, c);
  }
  const info: ModelInfo = {
    tokenizer: data.tokenizer,
    classifier: data.classifier,
    ...(data.trained === undefined ? {} : { trained: data.trained }),
    ...(data.source === undefined ? {} : { source: data.source }),
    ...(data.sets === undefined ? {} : { sets: data.sets }),
  };
  return { counts, info };
}

/** Loads a model file. */
export async function loadModel(path: string): Promise<{ counts: TokenCounts; info: ModelInfo }> {
  return parseModel(await readFile(path, 'utf8'), path);
}

/** Loads the local layer; a missing file is an empty layer. */
export async function loadLocal(path: string): Promise<TokenCounts> {
  try {
    return (await loadModel(path)).counts;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new TokenCounts();
    throw err;
  }
}

/**
 * Loads a model and, when `localPath` is given, the local layer on top of it
 * (a missing layer file is an empty layer).
 */
export async function loadLayered(modelPath: string, localPath?: string): Promise<LayeredModel> {
  const { counts, info } = await loadModel(modelPath);
  const local = localPath === undefined ? new TokenCounts() : await loadLocal(localPath);
  return new LayeredModel(counts, local, info);
}

/** Writes a file atomically: temp file, fsync, rename over the target, fsync of the directory. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
