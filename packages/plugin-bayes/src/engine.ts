/**
 * engine.ts — scanning and learning on bytes already read: MIME parse,
 * tokenize, classify, rules, and the local layer. The in-process scanner
 * (scanner.ts) and the worker thread (worker.ts) run this same code, so their
 * verdicts are the same.
 *
 * Imports no value from @smarthold/core (types only): a worker thread loads
 * this file, and the core package (HTTP, database, SMTP) has no business there.
 * Bad MIME never throws (the raw text is tokenized instead). Work is sliced
 * with a Yielder so one large message cannot stall the thread it runs on.
 */
import type { ScanRule, ScanVerdict } from '@smarthold/core';
import { collectEvidence, combine, type Evidence } from './classifier.js';
import { readMessage, type MessageText } from './mime/message.js';
import { writeAtomic, type LayeredModel } from './model.js';
import { bayesRules, gtubeRule, hasGtube, malformedRule, truncatedRule } from './rules.js';
import { tokenize, type TokenizerOptions } from './tokenize.js';
import { Yielder } from './yield.js';

/** How the scanner is set up. */
export interface BayesScannerOptions {
  readonly model: LayeredModel;
  /** Score (0–100 scale, GTUBE adds 1000) at or above which a message is spam. */
  readonly threshold: number;
  readonly maxScanBytes: number;
  /** Where the local layer is saved; learning is disabled when absent. */
  readonly localPath?: string;
  /** Longest synchronous slice, in ms (default 8). */
  readonly sliceMs?: number;
}

/** Parses a raw message, falling back to its raw text when parsing fails. */
export async function parseLeniently(raw: Buffer, yielder: Yielder): Promise<MessageText> {
  try {
    return await readMessage(raw, yielder);
  } catch {
    return {
      fields: [],
      texts: [raw.toString('latin1')],
      links: [],
      parts: [],
      charsets: [],
      malformed: true,
    };
  }
}

/** Raw bytes to the token set the model was trained with. */
export async function messageTokens(
  raw: Buffer,
  opts: TokenizerOptions,
  yielder = new Yielder(),
): Promise<{ tokens: Set<string>; message: MessageText }> {
  const message = await parseLeniently(raw, yielder);
  return { tokens: await tokenize(message, opts, yielder), message };
}

const LOOKUP_SLICE = 4096;

/** The Bayes classifier with its model, working on message bytes. */
export class BayesEngine {
  readonly name = 'bayes';
  #saving: Promise<void> = Promise.resolve();

  constructor(protected readonly options: BayesScannerOptions) {}

  /** Metadata of the model in use. */
  get modelInfo(): LayeredModel['info'] {
    return this.options.model.info;
  }

  /** Training messages behind the model (shipped plus learnt). */
  get messageCounts(): { nspam: number; nham: number } {
    return { nspam: this.options.model.nspam, nham: this.options.model.nham };
  }

  /**
   * Scans a message head already read (at most `maxScanBytes`; `truncated`
   * when the message was longer). `started` is when the scan began, for
   * `durationMs`.
   */
  async scanBytes(raw: Buffer, truncated: boolean, started = performance.now()): Promise<ScanVerdict> {
    const yielder = new Yielder(this.options.sliceMs);
    const { tokens, message: parsed } = await messageTokens(raw, this.options.model.info.tokenizer, yielder);
    const params = this.options.model.info.classifier;
    const collected: Evidence[] = [];
    let slice: string[] = [];
    for (const token of tokens) {
      slice.push(token);
      if (slice.length === LOOKUP_SLICE) {
        collectEvidence(this.options.model, slice, params, collected);
        slice = [];
        await yielder.tick();
      }
    }
    collectEvidence(this.options.model, slice, params, collected);
    const result = combine(collected, params);
    const rules: ScanRule[] = [];
    if (hasGtube(raw, parsed.texts)) rules.push(gtubeRule());
    rules.push(...bayesRules(result));
    if (truncated) rules.push(truncatedRule(this.options.maxScanBytes));
    if (parsed.malformed) rules.push(malformedRule());
    const score = Math.round(rules.reduce((sum, r) => sum + r.score, 0) * 10) / 10;
    return {
      scanner: this.name,
      score,
      threshold: this.options.threshold,
      isSpam: score >= this.options.threshold,
      rules,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    };
  }

  /** Adds a message head (read as for scanBytes) to the local layer, in memory only. */
  async addToLocal(raw: Buffer, label: 'spam' | 'ham'): Promise<void> {
    const { model } = this.options;
    const { tokens } = await messageTokens(raw, model.info.tokenizer);
    model.local.add(tokens, label);
  }

  /** Saves the local layer atomically to `localPath`; saves run one after another. */
  async saveLocal(): Promise<void> {
    const { localPath, model } = this.options;
    if (localPath === undefined) throw new Error('bayes: learning is disabled (learn = false)');
    const save = async (): Promise<void> =>
      writeAtomic(localPath, JSON.stringify(model.local.serialize(model.info)));
    this.#saving = this.#saving.then(save, save);
    await this.#saving;
  }
}
