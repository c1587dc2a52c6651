/**
 * config.ts — the `[plugin.bayes]` config section: schema, defaults, docs.
 *
 * Keys are snake_case like every smarthold section; each has a description
 * that `config show` and the generated reference print. Only validation here;
 * loading the model named by `model` is index.ts's job.
 */
import { z } from 'zod';

/** Default spam threshold on the 0–100 scale (chosen by cross-validation on the 2002 training sets). */
export const DEFAULT_THRESHOLD = 99;

/** Default number of scanning worker threads (0 = scan on the main thread). */
export const DEFAULT_WORKERS = 1;

/** Default number of bytes read from each message. */
export const DEFAULT_MAX_SCAN_BYTES = 1024 * 1024;

export const configSchema = z.object({
  threshold: z
    .number()
    .min(0)
    .default(DEFAULT_THRESHOLD)
    .describe(
      'Score at or above which a message is spam. Scale: 0–100 is the Bayes spam probability in percent; GTUBE adds 1000.',
    ),
  model: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Path to an alternative model file (smarthold-bayes/1 JSON, see scripts/train.mjs). Default: the model shipped in the package.',
    ),
  learn: z
    .boolean()
    .default(true)
    .describe(
      'Accept learn(spam|ham) requests (e.g. from quarantine releases) into a local layer kept in the data directory.',
    ),
  max_scan_bytes: z
    .number()
    .int()
    .min(1024)
    .default(DEFAULT_MAX_SCAN_BYTES)
    .describe(
      'Only the first N bytes of a message are read; the rest is ignored (noted as rule SCAN_TRUNCATED).',
    ),
  workers: z
    .number()
    .int()
    .min(0)
    .default(DEFAULT_WORKERS)
    .describe(
      'Worker threads that scan (MIME parsing, tokenizing, classifying) and learn, so the main thread only reads the message and waits for the verdict. Each worker holds its own copy of the model (about 20 MB of memory). 0 scans on the main thread, in slices of at most 8 ms. More than 1 helps only with spare cores and large messages; a learnt message reaches every worker, and one of them saves the local layer. A worker that dies fails its pending scans with a temporary error and is restarted by the next scan.',
    ),
});

/** The validated config. */
export type BayesConfig = z.output<typeof configSchema>;
