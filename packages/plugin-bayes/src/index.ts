/**
 * index.ts — the `bayes` plugin manifest: validates its config, loads the
 * shipped (or configured) model and the local learnt layer, and provides the
 * `spam-scanner` service.
 *
 * It registers no hooks: a scanner is called by whoever needs a verdict (the
 * quarantine plugin). It never touches relayed messages or their headers.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { definePlugin, type SpamScanner } from '@smarthold/core';
import { configSchema } from './config.js';
import { LayeredModel, TokenCounts, loadLocal, loadModel } from './model.js';
import { BayesScanner } from './scanner.js';

/** Path of the model shipped in this package. */
export const SHIPPED_MODEL = fileURLToPath(new URL('../model/model.json', import.meta.url));

/** File name of the local layer inside the plugin's data directory. */
export const LOCAL_MODEL_FILE = 'learned.json';

/** Options for {@link createBayesScanner}. */
export interface CreateOptions {
  readonly threshold: number;
  readonly maxScanBytes: number;
  /** Model file; default the shipped one. */
  readonly modelPath?: string;
  /** Directory for the local layer; learning is off when absent. */
  readonly dataDir?: string;
}

/**
 * Builds a scanner outside the plugin host (benchmarks, tools, tests).
 *
 * @example
 * const scanner = await createBayesScanner({ threshold: 99, maxScanBytes: 1 << 20 });
 * const verdict = await scanner.scan({ size: raw.length, openMessage: () => Readable.from([raw]) });
 */
export async function createBayesScanner(opts: CreateOptions): Promise<BayesScanner> {
  const { counts, info } = await loadModel(opts.modelPath ?? SHIPPED_MODEL);
  let localPath: string | undefined;
  let local = new TokenCounts();
  if (opts.dataDir !== undefined) {
    await mkdir(opts.dataDir, { recursive: true });
    localPath = join(opts.dataDir, LOCAL_MODEL_FILE);
    local = await loadLocal(localPath);
  }
  const model = new LayeredModel(counts, local, info);
  return new BayesScanner({
    model,
    threshold: opts.threshold,
    maxScanBytes: opts.maxScanBytes,
    ...(localPath === undefined ? {} : { localPath }),
  });
}

export default definePlugin({
  name: 'bayes',
  version: '0.1.0',
  core: '^1',
  description:
    'Embedded default spam scanner: naive Bayes (Robinson-Fisher) over a shipped model, plus GTUBE',
  config: configSchema,
  provides: ['spam-scanner'],
  async setup(ctx) {
    const cfg = ctx.config;
    const scanner = await createBayesScanner({
      threshold: cfg.threshold,
      maxScanBytes: cfg.max_scan_bytes,
      ...(cfg.model === undefined ? {} : { modelPath: cfg.model }),
      ...(cfg.learn ? { dataDir: ctx.dataDir } : {}),
    });
    const info = scanner.modelInfo;
    ctx.log.info(
      {
        model: cfg.model ?? SHIPPED_MODEL,
        trained: info.trained,
        nspam: scanner.messageCounts.nspam,
        nham: scanner.messageCounts.nham,
      },
      'bayes model loaded',
    );
    const service: SpamScanner = cfg.learn
      ? scanner
      : { name: scanner.name, scan: (message, context) => scanner.scan(message, context) };
    ctx.provide('spam-scanner', service);
  },
});

export { configSchema, DEFAULT_THRESHOLD, type BayesConfig } from './config.js';
export { BayesScanner, type BayesScannerOptions } from './scanner.js';
export { GTUBE } from './rules.js';
