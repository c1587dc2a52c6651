#!/usr/bin/env node
// scripts/bench-quality.mjs — scores the compiled bayes scanner on the held-out
// 2003 sets (spam-2, easy-ham-2, hard-ham-1) and prints a Markdown table, or one
// JSON object with --json. The library part is src/bench/quality.ts
// (`@smarthold/plugin-bayes/bench`), usable with any spam-scanner.
// Usage: npm run bench:quality -w packages/plugin-bayes [-- --json --limit 100 --threshold 99]
import { parseArgs } from 'node:util';
import { benchScanner, formatMarkdown } from '../dist/bench/quality.js';
import { createBayesScanner } from '../dist/index.js';
import { DEFAULT_MAX_SCAN_BYTES, DEFAULT_THRESHOLD } from '../dist/config.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    limit: { type: 'string' },
    threshold: { type: 'string', default: String(DEFAULT_THRESHOLD) },
    model: { type: 'string' },
  },
});
const scanner = await createBayesScanner({
  threshold: Number(values.threshold),
  maxScanBytes: DEFAULT_MAX_SCAN_BYTES,
  ...(values.model ? { modelPath: values.model } : {}),
});
const result = await benchScanner(scanner, values.limit ? { limit: Number(values.limit) } : {});
console.log(values.json ? JSON.stringify(result) : formatMarkdown([result]));
