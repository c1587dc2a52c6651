#!/usr/bin/env node
// scripts/test.mjs — run every compiled test file with node's test runner.
//
// `npm test` builds first (tsc -b), then this finds packages/*/dist/**/*.test.js
// (and examples/*/dist) and runs them with `node --test`. Arguments narrow the
// set: `npm test -- core` runs only files whose path contains "core".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = [];
for (const group of ['packages', 'examples']) {
  const g = path.join(root, group);
  if (!existsSync(g)) continue;
  for (const pkg of readdirSync(g)) {
    const dist = path.join(g, pkg, 'dist');
    if (existsSync(dist)) walk(dist, files);
  }
}
const selected = files.filter((f) => !filters.length || filters.some((x) => f.includes(x))).sort();
if (!selected.length) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.SMARTHOLD_TEST_CONCURRENCY ?? '4';
// A test that fails before it closes what it opened (a server, a child
// process) must fail the run, not hang it: each file's process exits once its
// tests are done (--test-force-exit), and a file that is still running after
// ten minutes fails (--test-timeout; the slowest file takes about one).
const guards = ['--test-force-exit', '--test-timeout=600000'];
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, ...guards, ...selected],
  { stdio: 'inherit', cwd: root },
);
process.exit(r.status ?? 1);
