/**
 * model-schema.ts — the zod schema of a model file's small fields (all but
 * the token table, which model.ts checks entry by entry without copying it).
 * model.ts loads this module only when a header fails its own quick check, to
 * word the error; a scanning worker thread never loads zod.
 */
import { z } from 'zod';
import { DEFAULT_PARAMS } from './classifier.js';
import { MODEL_FORMAT } from './model.js';
import { DEFAULT_TOKENIZER } from './tokenize.js';

export const fileSchema = z.object({
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
  // Given as {}: a zod record would copy 100k entries and double the memory peak at start-up.
  tokens: z.record(z.string(), z.unknown()),
});
