/**
 * scanner.ts — the `spam-scanner` service: reads a message, tokenizes it,
 * classifies it, applies the explicit rules and returns a verdict; learns
 * into the local model layer.
 *
 * Read-only: it opens the message stream, reads at most `maxScanBytes`, and
 * never writes to the message or adds headers. Bad MIME never throws (the raw
 * text is tokenized instead); only a failing message stream (a broken spool)
 * throws ScannerUnavailableError, so the calling hook fails closed. Work is
 * sliced with a Yielder so one large message cannot stall the event loop.
 */
import type { Readable } from 'node:stream';
import {
  ScannerUnavailableError,
  type ScanContext,
  type ScanMessage,
  type ScanRule,
  type ScanVerdict,
  type SpamScanner,
} from '@smarthold/core';
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
  /** Where learn() saves the local layer; learning is disabled when absent. */
  readonly localPath?: string;
  /** Longest synchronous slice, in ms (default 8). */
  readonly sliceMs?: number;
}

/** Reads at most `limit` bytes of a stream; leaving the loop early destroys the stream. */
export async function readHead(
  stream: Readable,
  limit: number,
): Promise<{ raw: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  let truncated = false;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    const room = limit - total;
    if (buf.length > room) {
      chunks.push(buf.subarray(0, room));
      total = limit;
      truncated = true;
      break;
    }
    chunks.push(buf);
    total += buf.length;
  }
  return { raw: Buffer.concat(chunks, total), truncated };
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

/** The Bayes scanner. Create it through the plugin (index.ts) or directly in tests. */
export class BayesScanner implements SpamScanner {
  readonly name = 'bayes';
  #saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: BayesScannerOptions) {}

  /** Metadata of the model in use. */
  get modelInfo(): LayeredModel['info'] {
    return this.options.model.info;
  }

  /** Training messages behind the model (shipped plus learnt). */
  get messageCounts(): { nspam: number; nham: number } {
    return { nspam: this.options.model.nspam, nham: this.options.model.nham };
  }

  /** Scans a message without changing it. */
  async scan(message: ScanMessage, _context?: ScanContext): Promise<ScanVerdict> {
    const started = performance.now();
    const yielder = new Yielder(this.options.sliceMs);
    const { raw, truncated } = await this.#read(message);
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

  /**
   * Adds a message to the local layer as spam or ham and saves the layer
   * atomically. Resolves once the layer is on disk.
   */
  async learn(message: ScanMessage, label: 'spam' | 'ham'): Promise<void> {
    const { localPath, model } = this.options;
    if (localPath === undefined) throw new Error('bayes: learning is disabled (learn = false)');
    const { raw } = await this.#read(message);
    const { tokens } = await messageTokens(raw, model.info.tokenizer);
    model.local.add(tokens, label);
    const save = async (): Promise<void> =>
      writeAtomic(localPath, JSON.stringify(model.local.serialize(model.info)));
    this.#saving = this.#saving.then(save, save);
    await this.#saving;
  }

  async #read(message: ScanMessage): Promise<{ raw: Buffer; truncated: boolean }> {
    try {
      return await readHead(message.openMessage(), this.options.maxScanBytes);
    } catch (err) {
      throw new ScannerUnavailableError(
        this.name,
        `cannot read the message: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
}
