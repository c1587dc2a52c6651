#!/usr/bin/env node
// scripts/cv.mjs — chooses the shipped settings by cross-validation on the 2002
// training sets only (spam-1, easy-ham-1); never reads the 2003 sets.
// Default: 5 folds grouped by source (ham of each fold comes from mailing lists
// and senders the model never saw; spam of each fold from its own period), and
// the threshold with the best recall whose CV false-positive rate is <= 0.25 %.
// Usage: npm run cv -w packages/plugin-bayes [-- --folds 5 --max-fpr 0.0025 --random --json]
import { parseArgs } from 'node:util';
import { crossValidate } from '../dist/train/cv.js';

const { values } = parseArgs({
  options: {
    folds: { type: 'string', default: '5' },
    'max-fpr': { type: 'string', default: '0.0025' },
    random: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const candidates = [];
for (const bigrams of [false, true])
  for (const strength of [0.2, 0.45, 1])
    for (const minDistance of [0.1, 0.2])
      for (const maxTokens of [50, 150, 400])
        for (const minCount of [2, 3])
          candidates.push({
            tokenizer: { bigrams, maxWordLength: 12 },
            classifier: { strength, prior: 0.5, minDistance, maxTokens },
            minCount,
          });
const started = Date.now();
const rows = await crossValidate(candidates, {
  folds: Number(values.folds),
  maxFpr: Number(values['max-fpr']),
  grouped: !values.random,
});
rows.sort(
  (a, b) =>
    Number(b.withinBudget) - Number(a.withinBudget) ||
    b.recall - a.recall ||
    a.fpr - b.fpr ||
    b.threshold - a.threshold,
);
if (values.json) {
  for (const row of rows) console.log(JSON.stringify(row));
} else {
  console.log(
    `| bigrams | a | min dist | max tokens | min pair count | threshold | recall | FPR | FP | HTML-ham FP |`,
  );
  console.log(`|---|---|---|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    const c = r.candidate;
    console.log(
      `| ${c.tokenizer.bigrams} | ${c.classifier.strength} | ${c.classifier.minDistance} | ${c.classifier.maxTokens} | ${c.minCount} | ${r.threshold} | ${r.recall.toFixed(3)} | ${(100 * r.fpr).toFixed(2)}% | ${r.falsePositives} | ${r.htmlHamFalsePositives}/${r.htmlHam} |`,
    );
  }
  console.log(
    `\n${rows.length} candidates, ${values.folds} folds (${values.random ? 'random' : 'grouped by source'}), max CV FPR ${values['max-fpr']}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}
