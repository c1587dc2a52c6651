#!/usr/bin/env node
// scripts/lookup-speed.mjs — lookup speed of the compact model table
// (compact.ts) against the Map of count pairs it replaced: tokenize + classify
// of the 5 KB bench message (bench/lib/messages.mjs at the repository root),
// and classify alone on its token set. Each form runs in processes of its own
// (`--processes` of each, alternating), so neither makes the other's call
// sites polymorphic; the medians are printed. Times are CPU times of the
// process (less disturbed by other processes than wall time).
// Usage: npx tsc -b packages/plugin-bayes && node packages/plugin-bayes/scripts/lookup-speed.mjs [--processes 6]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '7' },
    iterations: { type: 'string', default: '300' },
    form: { type: 'string' },
  },
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(form) {
  const { messageText } = await import('../../../bench/lib/messages.mjs');
  const { classify } = await import('../dist/classifier.js');
  const { messageTokens } = await import('../dist/engine.js');
  const { SHIPPED_MODEL } = await import('../dist/index.js');
  const { LayeredModel, parseModel, TokenCounts } = await import('../dist/model.js');
  const text = readFileSync(SHIPPED_MODEL, 'utf8');
  const parsed = await parseModel(text, SHIPPED_MODEL);
  let base = parsed.counts;
  if (form === 'map') {
    // The former in-memory form: a Map of token → [spam, ham] from JSON.parse.
    const raw = JSON.parse(text);
    base = new TokenCounts();
    base.nspam = raw.nspam;
    base.nham = raw.nham;
    for (const token in raw.tokens) base.table.set(token, raw.tokens[token]);
  }
  const { info } = parsed;
  const model = new LayeredModel(base, new TokenCounts(), info);
  const message = Buffer.from(messageText('scan', 5 * 1024));
  const list = [...(await messageTokens(message, info.tokenizer)).tokens];
  const p = info.classifier;
  const iterations = Number(values.iterations);
  const full = [];
  const lookup = [];
  let sink = 0;
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  for (let round = 0; round < Number(values.rounds); round++) {
    let t = cpu();
    for (let i = 0; i < iterations; i++) {
      const { tokens } = await messageTokens(message, info.tokenizer);
      sink += classify(model, tokens, p).probability;
    }
    full.push(((cpu() - t) / iterations) * 1000);
    t = cpu();
    for (let i = 0; i < iterations * 10; i++) sink += classify(model, list, p).probability;
    lookup.push(((cpu() - t) / (iterations * 10)) * 1000);
  }
  return {
    full: median(full),
    lookup: median(lookup),
    fullBest: Math.min(...full),
    lookupBest: Math.min(...lookup),
    tokens: list.length,
    probability: classify(model, list, p).probability,
    sink: Number.isNaN(sink),
  };
}

if (values.form) {
  console.log(JSON.stringify(await run(values.form)));
} else {
  const script = fileURLToPath(import.meta.url);
  const forms = ['map', 'compact'];
  const results = { map: [], compact: [] };
  for (let i = 0; i < Number(values.processes); i++)
    for (const form of i % 2 ? [...forms].reverse() : forms) {
      const args = [script, '--form', form, '--rounds', values.rounds, '--iterations', values.iterations];
      results[form].push(JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })));
    }
  const first = results.compact[0];
  if (results.map.some((r) => r.probability !== first.probability))
    throw new Error('the two forms give different probabilities');
  console.log(
    `| model form | tokenize + classify, 5 KB message: median (best) | classify only, ${first.tokens} tokens: median (best) |`,
  );
  console.log('|---|---|---|');
  for (const form of forms) {
    const f = (k) => median(results[form].map((r) => r[k])).toFixed(1);
    const best = (k) => Math.min(...results[form].map((r) => r[k])).toFixed(1);
    console.log(
      `| ${form} | ${f('full')} µs (${best('fullBest')}) | ${f('lookup')} µs (${best('lookupBest')}) |`,
    );
  }
  console.log(
    `\nmedian of ${values.processes} processes per form (each the median of its rounds), best round of all; CPU time (node ${process.version})`,
  );
}
