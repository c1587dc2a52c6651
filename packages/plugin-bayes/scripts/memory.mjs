#!/usr/bin/env node
// scripts/memory.mjs — what the shipped model costs in memory: RSS and V8 heap
// of a process that loaded the package and nothing else (baseline), that
// loaded the model in-process (`workers = 0`), and that started one scanning
// worker (`workers = 1`, the default). Each case runs in a fresh process,
// `--runs` times, and is read twice: once the model is loaded, and after
// `--scans` corpus messages (spam-2 and easy-ham-2, a development dependency)
// were scanned; the medians are printed. The worker's own heap is read in a
// thread that loads the modules and the model as worker.js does
// (v8.getHeapStatistics is per isolate).
// Usage: npx tsc -b packages/plugin-bayes && node packages/plugin-bayes/scripts/memory.mjs [--runs 5] [--scans 300] [--json]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';

const MB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    scans: { type: 'string', default: '300' },
    json: { type: 'boolean', default: false },
    case: { type: 'string' },
  },
});

// Not --expose-gc on the command line: a worker cannot be started with that flag in its execArgv.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** VmRSS and VmHWM (peak RSS) of this process, in MB. */
function status() {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function settle() {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function reading() {
  await settle();
  return { ...status(), heapUsed: v8.getHeapStatistics().used_heap_size / MB };
}

/** Heap used of a thread that loads worker.js's modules, then the model, as worker.js does. */
function workerHeap(modelPath) {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const v8 = require('node:v8');
    const collect = globalThis.gc ?? require('node:vm').runInNewContext('gc');
    const used = async () => {
      for (let i = 0; i < 3; i++) { collect(); await new Promise((r) => setTimeout(r, 50)); }
      return v8.getHeapStatistics().used_heap_size;
    };
    (async () => {
      const { loadLayered } = await import(workerData.model);
      await import(workerData.engine);
      const modules = await used();
      const model = await loadLayered(workerData.modelPath);
      parentPort.postMessage({ modules, model: (await used()) - modules, nspam: model.nspam });
    })();`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, {
      eval: true,
      workerData: {
        model: new URL('../dist/model.js', import.meta.url).href,
        engine: new URL('../dist/engine.js', import.meta.url).href,
        modelPath,
      },
    });
    w.once('message', (m) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

async function measure(kind) {
  const index = await import('../dist/index.js');
  const { loadSet } = await import('../dist/train/corpus.js');
  const scans = Number(values.scans);
  const messages = [
    ...(await loadSet('spam-2', { limit: Math.ceil(scans / 2) })),
    ...(await loadSet('easy-ham-2', { limit: Math.floor(scans / 2) })),
  ];
  const out = {};
  let scanner;
  if (kind === 'in-process') {
    scanner = await index.createBayesScanner({ threshold: 99, maxScanBytes: 1 << 20 });
  } else if (kind === 'worker') {
    scanner = await index.startBayesWorkers({
      workers: 1,
      threshold: 99,
      maxScanBytes: 1 << 20,
      modelPath: index.SHIPPED_MODEL,
    });
  }
  const loaded = await reading();
  for (const { raw } of messages)
    await scanner?.scan({ size: raw.length, openMessage: () => Readable.from([raw]) });
  const scanned = await reading();
  Object.assign(out, {
    rss: loaded.rss,
    heapUsed: loaded.heapUsed,
    rssScanned: scanned.rss,
    peak: scanned.peak,
  });
  if (kind === 'worker') {
    await scanner.close();
    const w = await workerHeap(index.SHIPPED_MODEL);
    out.workerModules = w.modules / MB;
    out.workerModel = w.model / MB;
  }
  return out;
}

if (values.case) {
  console.log(JSON.stringify(await measure(values.case)));
} else {
  const script = fileURLToPath(import.meta.url);
  const cases = ['baseline', 'in-process', 'worker'];
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = {};
  for (const kind of cases) {
    const runs = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const args = [script, '--case', kind, '--scans', values.scans];
      runs.push(JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })));
    }
    results[kind] = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((r) => r[k]))]));
  }
  if (values.json) console.log(JSON.stringify(results));
  else {
    const base = results.baseline;
    const f = (x) => (x === undefined ? '—' : x.toFixed(1));
    console.log(
      '| case | RSS loaded | − baseline | heap used | − baseline | RSS after scans | − baseline | peak RSS | − baseline | worker heap: modules | worker heap: model |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const kind of cases) {
      const r = results[kind];
      console.log(
        `| ${kind} | ${f(r.rss)} | ${f(r.rss - base.rss)} | ${f(r.heapUsed)} | ${f(r.heapUsed - base.heapUsed)} | ${f(r.rssScanned)} | ${f(r.rssScanned - base.rssScanned)} | ${f(r.peak)} | ${f(r.peak - base.peak)} | ${f(r.workerModules)} | ${f(r.workerModel)} |`,
      );
    }
    console.log(
      `\nMB, medians of ${values.runs} fresh processes each, ${values.scans} corpus messages scanned (node ${process.version})`,
    );
  }
}
