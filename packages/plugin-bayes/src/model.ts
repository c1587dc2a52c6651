/**
 * model.ts — token counts: the shipped model, the locally learnt layer on top
 * of it, loading, validation and atomic persistence.
 *
 * A model is a message count per class and, per token, how many spam and ham
 * messages contained it. The shipped model is read-only and held in a compact
 * table (compact.ts, ~3 MB for 99,030 tokens), read straight from the file's
 * bytes (model-json.ts); `learn()` only ever changes the local layer, a Map,
 * which is saved as JSON in the plugin's data directory (temp file, fsync,
 * rename, fsync of the directory). This module does no tokenizing and no
 * scoring.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_TOKENIZER, type TokenizerOptions } from './tokenize.js';
import { DEFAULT_PARAMS, type ClassifierParams } from './classifier.js';
import { CompactCountsBuilder, type CompactCounts } from './compact.js';
import { scanModelJson } from './model-json.js';

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
    // Most installations never learn: skip the second lookup while the layer is empty.
    if (this.local.table.size === 0) return a;
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

/** A model file's message counts and metadata. */
interface Header {
  readonly nspam: number;
  readonly nham: number;
  readonly info: ModelInfo;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isFiniteIn = (x: unknown, min: number, max: number): x is number =>
  typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max;

/**
 * The header of a model file that is plainly right, as the zod schema
 * (model-schema.ts) would give it (unknown keys dropped, defaults filled in);
 * undefined for anything else, which the schema then words. Stricter than the
 * schema, never looser, so a file it accepts is read as before.
 */
function plainHeader(raw: Record<string, unknown>): Header | undefined {
  const { format, trained, source, sets, tokenizer: t, classifier: c, nspam, nham } = raw;
  if (format !== MODEL_FORMAT || !isCount(nspam) || !isCount(nham)) return undefined;
  if (trained !== undefined && typeof trained !== 'string') return undefined;
  if (source !== undefined && typeof source !== 'string') return undefined;
  if (sets !== undefined && !(Array.isArray(sets) && sets.every((x) => typeof x === 'string')))
    return undefined;
  let tokenizer: TokenizerOptions = { ...DEFAULT_TOKENIZER };
  if (t !== undefined) {
    if (!isObject(t) || typeof t.bigrams !== 'boolean' || !isCount(t.maxWordLength) || t.maxWordLength === 0)
      return undefined;
    tokenizer = { bigrams: t.bigrams, maxWordLength: t.maxWordLength };
  }
  let classifier: ClassifierParams = { ...DEFAULT_PARAMS };
  if (c !== undefined) {
    if (
      !isObject(c) ||
      !isFiniteIn(c.strength, Number.MIN_VALUE, Number.MAX_VALUE) ||
      !isFiniteIn(c.prior, 0, 1) ||
      !isFiniteIn(c.minDistance, 0, 0.5) ||
      !isCount(c.maxTokens) ||
      c.maxTokens === 0
    )
      return undefined;
    classifier = { strength: c.strength, prior: c.prior, minDistance: c.minDistance, maxTokens: c.maxTokens };
  }
  const info: ModelInfo = {
    tokenizer,
    classifier,
    ...(trained === undefined ? {} : { trained }),
    ...(source === undefined ? {} : { source }),
    ...(sets === undefined ? {} : { sets: [...sets] }),
  };
  return { nspam, nham, info };
}

/**
 * The metadata and message counts of a parsed model file; throws with the
 * file name when they are wrong. A plainly right header is taken as it is;
 * only another one loads zod (model-schema.ts), which a scanning worker thus
 * never needs.
 */
async function readHeader(raw: Record<string, unknown>, origin: string): Promise<Header> {
  const plain = plainHeader(raw);
  if (plain !== undefined) return plain;
  const { fileSchema } = await import('./model-schema.js');
  const parsed = fileSchema.safeParse({ ...raw, tokens: {} });
  if (!parsed.success)
    throw new Error(
      `${origin}: not a ${MODEL_FORMAT} model: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  const data = parsed.data;
  const info: ModelInfo = {
    tokenizer: data.tokenizer,
    classifier: data.classifier,
    ...(data.trained === undefined ? {} : { trained: data.trained }),
    ...(data.source === undefined ? {} : { source: data.source }),
    ...(data.sets === undefined ? {} : { sets: data.sets }),
  };
  return { nspam: data.nspam, nham: data.nham, info };
}

/**
 * Parses a model file's text with JSON.parse, checks it, and hands each token
 * to `add`. Throws with the file name when it is not a model.
 */
async function parseWhole(
  text: string,
  origin: string,
  add: (token: string, c: [number, number]) => void,
): Promise<Header> {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const tokens = raw.tokens;
  const header = await readHeader(raw, origin);
  if (!isObject(tokens)) {
    throw new Error(`${origin}: not a ${MODEL_FORMAT} model: tokens is not an object`);
  }
  for (const token in tokens) {
    const c = tokens[token];
    if (!isCounts(c)) {
      throw new Error(
        `${origin}: not a ${MODEL_FORMAT} model: token ${JSON.stringify(token)} has bad counts`,
      );
    }
    add(token, c);
  }
  return header;
}

/**
 * Parses a model file into the compact read-only table (compact.ts). A file
 * in the trainer's form is read in one pass from its bytes straight into the
 * table (model-json.ts); any other is decoded and parsed by JSON.parse, with
 * the same result or the same error. Rejects with the file name when it is
 * not a model.
 */
export async function parseModel(
  data: Uint8Array | string,
  origin: string,
): Promise<{ counts: CompactCounts; info: ModelInfo }> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  // The shipped model: about 21 bytes of file per token, 58 % of them token bytes.
  let builder = new CompactCountsBuilder(Math.ceil(bytes.length / 20), Math.ceil(bytes.length * 0.6));
  const rest = scanModelJson(bytes, builder);
  if (rest !== undefined) {
    const { nspam, nham, info } = await readHeader(rest, origin);
    return { counts: builder.build(nspam, nham), info };
  }
  builder = new CompactCountsBuilder();
  const text =
    typeof data === 'string'
      ? data
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const { nspam, nham, info } = await parseWhole(text, origin, (token, c) => {
    builder.addString(token, c[0], c[1]);
  });
  return { counts: builder.build(nspam, nham), info };
}

/** Parses a local layer file's text (small, and learning changes it) into a mutable TokenCounts. */
export async function parseLocal(text: string, origin: string): Promise<TokenCounts> {
  const counts = new TokenCounts();
  const header = await parseWhole(text, origin, (token, c) => {
    counts.table.set(token, c);
  });
  counts.nspam = header.nspam;
  counts.nham = header.nham;
  return counts;
}

/** Loads a model file into the compact read-only table. */
export async function loadModel(path: string): Promise<{ counts: CompactCounts; info: ModelInfo }> {
  return await parseModel(await readFile(path), path);
}

/** Loads the local layer; a missing file is an empty layer. */
export async function loadLocal(path: string): Promise<TokenCounts> {
  try {
    return await parseLocal(await readFile(path, 'utf8'), path);
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
