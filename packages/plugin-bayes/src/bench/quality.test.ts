/**
 * bench/quality.test.ts — the benchmark library on a small sample of the
 * held-out sets (scoring only, no training, nothing asserted about timing or
 * quality: the full benchmark is scripts/bench-quality.mjs, not a unit test).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SpamScanner } from '@smarthold/core';
import { DEFAULT_THRESHOLD } from '../config.js';
import { createBayesScanner } from '../index.js';
import { benchScanner, formatMarkdown } from './quality.js';

it('scores any SpamScanner on a 50-message sample and formats the result', async () => {
  const bayes = await createBayesScanner({ threshold: DEFAULT_THRESHOLD, maxScanBytes: 1 << 20 });
  const sample = { sets: ['spam-2', 'easy-ham-2', 'hard-ham-1'], limit: 17 };
  const result = await benchScanner(bayes, sample);
  assert.equal(result.scanner, 'bayes');
  assert.equal(
    result.sets.reduce((n, s) => n + s.messages, 0),
    51,
  );
  for (const rate of [result.precision, result.recall, result.falsePositiveRate, result.hardHamFlagRate])
    assert.ok(rate >= 0 && rate <= 1);
  assert.equal(result.errors, 0);
  assert.match(formatMarkdown([result]), /^\| scanner \| precision/);

  const failing: SpamScanner = { name: 'down', scan: () => Promise.reject(new Error('down')) };
  const down = await benchScanner(failing, { sets: ['easy-ham-2'], limit: 3 });
  assert.equal(down.errors, 3);
  assert.equal(down.falsePositiveRate, 0);
});
