/**
 * index.ts — the `bayes` plugin manifest: validates its config, starts the
 * scanning worker threads (each loads the shipped or configured model and the
 * local learnt layer) or, with `workers = 0`, loads the model in-process, and
 * provides the `spam-scanner` service.
 *
 * It registers no hooks: a scanner is called by whoever needs a verdict (the
 * quarantine plugin). It never touches relayed messages or their headers.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { definePlugin, type SpamScanner } from '@smarthold/core';
import { configSchema } from './config.js';
import { loadLayered } from './model.js';
import { BayesWorkerScanner, startBayesWorkers } from './pool.js';
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
 * Builds an in-process scanner (the model loaded on this thread, scans run on
 * it) outside the plugin host: benchmarks, tools, tests. See
 * {@link startBayesWorkers} for the worker-thread scanner the plugin uses.
 *
 * @example
 * const scanner = await createBayesScanner({ threshold: 99, maxScanBytes: 1 << 20 });
 * const verdict = await scanner.scan({ size: raw.length, openMessage: () => Readable.from([raw]) });
 */
export async function createBayesScanner(opts: CreateOptions): Promise<BayesScanner> {
  let localPath: string | undefined;
  if (opts.dataDir !== undefined) {
    await mkdir(opts.dataDir, { recursive: true });
    localPath = join(opts.dataDir, LOCAL_MODEL_FILE);
  }
  return new BayesScanner({
    model: await loadLayered(opts.modelPath ?? SHIPPED_MODEL, localPath),
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
    const modelPath = cfg.model ?? SHIPPED_MODEL;
    const common = { threshold: cfg.threshold, maxScanBytes: cfg.max_scan_bytes, modelPath };
    const scanner: BayesScanner | BayesWorkerScanner =
      cfg.workers === 0
        ? await createBayesScanner({ ...common, ...(cfg.learn ? { dataDir: ctx.dataDir } : {}) })
        : await startBayesWorkers({
            ...common,
            workers: cfg.workers,
            ...(cfg.learn ? { localPath: join(ctx.dataDir, LOCAL_MODEL_FILE) } : {}),
          });
    try {
      if (scanner instanceof BayesWorkerScanner) ctx.onClose(() => scanner.close());
      ctx.log.info(
        {
          model: modelPath,
          trained: scanner.modelInfo.trained,
          nspam: scanner.messageCounts.nspam,
          nham: scanner.messageCounts.nham,
          workers: cfg.workers,
        },
        'bayes model loaded',
      );
      const service: SpamScanner = cfg.learn
        ? scanner
        : { name: scanner.name, scan: (message, context) => scanner.scan(message, context) };
      ctx.provide('spam-scanner', service);
    } catch (err) {
      if (scanner instanceof BayesWorkerScanner) await scanner.close();
      throw err;
    }
  },
});

export { configSchema, DEFAULT_THRESHOLD, DEFAULT_WORKERS, type BayesConfig } from './config.js';
export { BayesScanner, type BayesScannerOptions } from './scanner.js';
export { BayesWorkerScanner, startBayesWorkers, type WorkerPoolOptions } from './pool.js';
export { GTUBE } from './rules.js';
