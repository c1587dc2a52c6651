#!/usr/bin/env node
// scripts/train.mjs — trains the shipped model (model/model.json) from the
// SpamAssassin public corpus 2002 sets (spam-1, easy-ham-1) ONLY, with the
// settings chosen by scripts/cv.mjs. The 2003 sets are never read here.
// Usage: npm run train -w packages/plugin-bayes [-- --date 2026-11-23 --out model/model.json]
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { trainShippedModel } from '../dist/train/train.js';

const { values } = parseArgs({
  options: {
    date: { type: 'string', default: new Date().toISOString().slice(0, 10) },
    out: { type: 'string', default: fileURLToPath(new URL('../model/model.json', import.meta.url)) },
  },
});
const started = Date.now();
const { tokens, bytes } = await trainShippedModel(values.out, values.date);
console.log(
  `wrote ${values.out}: ${tokens} tokens, ${(bytes / 1024 / 1024).toFixed(2)} MB, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
