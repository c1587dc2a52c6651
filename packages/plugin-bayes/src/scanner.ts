/**
 * scanner.ts — the in-process `spam-scanner` service: reads a message and
 * scans it on this thread (engine.ts: tokenize, classify, rules); learns into
 * the local model layer. The plugin uses it with `workers = 0`; tools, tests
 * and benchmarks build it with createBayesScanner (index.ts). The plugin's
 * default runs the same engine in a worker thread (pool.ts).
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
  type ScanVerdict,
  type SpamScanner,
} from '@smarthold/core';
import { BayesEngine } from './engine.js';

export { messageTokens, parseLeniently, type BayesScannerOptions } from './engine.js';

/**
 * Reads at most `limit` bytes of a stream; leaving the loop early destroys the
 * stream. The bytes are copied into a buffer of their own (never a slice of
 * Node's shared pool), so its ArrayBuffer can be transferred to a worker.
 */
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
  const raw = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const chunk of chunks) {
    raw.set(chunk, at);
    at += chunk.length;
  }
  return { raw, truncated };
}

/** readHead for a scanner: a failing message stream (a broken spool) becomes ScannerUnavailableError. */
export async function readForScan(
  message: ScanMessage,
  limit: number,
  scanner = 'bayes',
): Promise<{ raw: Buffer; truncated: boolean }> {
  try {
    return await readHead(message.openMessage(), limit);
  } catch (err) {
    throw new ScannerUnavailableError(
      scanner,
      `cannot read the message: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** The Bayes scanner, in-process. Create it through createBayesScanner (index.ts) or directly in tests. */
export class BayesScanner extends BayesEngine implements SpamScanner {
  /** Scans a message without changing it. */
  async scan(message: ScanMessage, _context?: ScanContext): Promise<ScanVerdict> {
    const started = performance.now();
    const { raw, truncated } = await readForScan(message, this.options.maxScanBytes, this.name);
    return this.scanBytes(raw, truncated, started);
  }

  /**
   * Adds a message to the local layer as spam or ham and saves the layer
   * atomically. Resolves once the layer is on disk.
   */
  async learn(message: ScanMessage, label: 'spam' | 'ham'): Promise<void> {
    if (this.options.localPath === undefined) throw new Error('bayes: learning is disabled (learn = false)');
    const { raw } = await readForScan(message, this.options.maxScanBytes, this.name);
    await this.addToLocal(raw, label);
    await this.saveLocal();
  }
}
