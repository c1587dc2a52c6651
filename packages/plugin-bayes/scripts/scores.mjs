#!/usr/bin/env node
// scripts/scores.mjs — the verdict of the compiled in-process scanner for every
// message of the SpamAssassin corpus (all five sets: spam-1, easy-ham-1,
// spam-2, easy-ham-2, hard-ham-1; a development dependency), one JSON line per
// message (set, id, the verdict without durationMs, which is timing, and the
// classifier's exact probability, spamminess, hamminess and a digest of every
// token it weighed with its f(w)), then a SHA-256 of those lines on stderr. Two builds that score the corpus alike
// print the same bytes: compare the outputs of a change's before and after.
// Usage: npx tsc -b packages/plugin-bayes && node packages/plugin-bayes/scripts/scores.mjs > scores.jsonl
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { classify } from '../dist/classifier.js';
import { messageTokens } from '../dist/engine.js';
import { createBayesScanner, SHIPPED_MODEL } from '../dist/index.js';
import { loadLayered } from '../dist/model.js';
import { DEFAULT_MAX_SCAN_BYTES, DEFAULT_THRESHOLD } from '../dist/config.js';
import { loadSet } from '../dist/train/corpus.js';

const SETS = ['spam-1', 'easy-ham-1', 'spam-2', 'easy-ham-2', 'hard-ham-1'];
const scanner = await createBayesScanner({
  threshold: DEFAULT_THRESHOLD,
  maxScanBytes: DEFAULT_MAX_SCAN_BYTES,
});
const model = await loadLayered(SHIPPED_MODEL);
const hash = createHash('sha256');
let n = 0;
for (const set of SETS) {
  for (const { id, raw } of await loadSet(set)) {
    const verdict = await scanner.scan({ size: raw.length, openMessage: () => Readable.from([raw]) });
    delete verdict.durationMs; // timing
    const { tokens } = await messageTokens(raw.subarray(0, DEFAULT_MAX_SCAN_BYTES), model.info.tokenizer);
    const c = classify(model, tokens, model.info.classifier);
    const evidence = createHash('sha256')
      .update(JSON.stringify(c.evidence.map((e) => [e.token, e.f])))
      .digest('hex');
    const { probability, spamminess, hamminess } = c;
    const line = `${JSON.stringify({ set, id, ...verdict, probability, spamminess, hamminess, evidence })}\n`;
    hash.update(line);
    process.stdout.write(line);
    n++;
  }
}
process.stderr.write(`${n} messages, sha256 ${hash.digest('hex')}\n`);
