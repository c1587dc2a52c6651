#!/usr/bin/env node
// scripts/replay-guide.mjs — follow a guide literally: run its replayable code blocks in a fresh directory.
//
// What it does: reads a Markdown guide (default docs/guides/writing-a-plugin.md)
// and, in order, runs every ```sh replay block with bash (-e -u -o pipefail;
// the working directory carries over from block to block, so `cd` works) and
// writes every block whose info string has file=PATH to PATH (relative to the
// current directory). Other blocks are prose. `smarthold` on PATH is this
// checkout's CLI, so `smarthold plugin new` scaffolds in linked mode (file:
// dependencies on packages/core and packages/testkit). Exits 1 at the first
// failing block, printing its output; 0 when every block passed.
// What it does not do: build the checkout (run `tsc -b` first) or clean up
// on failure when --keep is given.
//
// usage: node scripts/replay-guide.mjs [GUIDE.md] [--keep]
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const guide = path.resolve(
  args.find((a) => !a.startsWith('--')) ?? path.join(root, 'docs/guides/writing-a-plugin.md'),
);
const BLOCK_TIMEOUT_MS = Number(process.env.REPLAY_BLOCK_TIMEOUT_MS ?? 240_000);

/** The fenced blocks of a Markdown text: language, attributes (`replay`, `file=PATH`) and body. */
function blocks(markdown) {
  const out = [];
  const re = /^```([^\s`]*)([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (const m of markdown.matchAll(re)) {
    const words = m[2].trim().split(/\s+/).filter(Boolean);
    const file = words.find((w) => w.startsWith('file='))?.slice('file='.length);
    out.push({
      lang: m[1],
      replay: words.includes('replay'),
      file,
      body: m[3],
      line: markdown.slice(0, m.index).split('\n').length,
    });
  }
  return out;
}

const cli = path.join(root, 'packages/cli/dist/main.js');
if (!existsSync(cli)) {
  console.error(`replay-guide: ${cli} is missing; build first (npx tsc -b)`);
  process.exit(1);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'smarthold-guide-'));
const bin = path.join(work, '.bin');
mkdirSync(bin);
writeFileSync(path.join(bin, 'smarthold'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`);
chmodSync(path.join(bin, 'smarthold'), 0o755);
const cwdFile = path.join(work, '.cwd');

// A clean environment for npm and node --test: no npm_* from an enclosing `npm test`, and no
// NODE_TEST_CONTEXT, which would make the guide's own `node --test` skip its files.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.toLowerCase().startsWith('npm_') && k !== 'NODE_TEST_CONTEXT',
  ),
);
env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
env.npm_config_prefer_offline = 'true';
env.npm_config_audit = 'false';
env.npm_config_fund = 'false';

let cwd = work;
let count = 0;
const rel = path.relative(root, guide);
const started = Date.now();
let failed = false;
for (const b of blocks(readFileSync(guide, 'utf8'))) {
  if (b.file) {
    const target = path.resolve(cwd, b.file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, b.body);
    console.error(`replay-guide: ${rel}:${b.line} wrote ${path.relative(work, target)}`);
    count += 1;
  } else if (b.replay) {
    if (!['sh', 'bash', 'shell'].includes(b.lang)) {
      console.error(
        `replay-guide: ${rel}:${b.line}: "replay" on a ${b.lang || 'plain'} block; only sh blocks run`,
      );
      failed = true;
      break;
    }
    const t0 = Date.now();
    const r = spawnSync(
      'bash',
      ['-euo', 'pipefail', '-c', `cd "$1"\n${b.body}\npwd > "$2"`, 'replay', cwd, cwdFile],
      {
        env,
        encoding: 'utf8',
        timeout: BLOCK_TIMEOUT_MS,
      },
    );
    if (r.status !== 0) {
      console.error(
        `replay-guide: ${rel}:${b.line}: block failed (${r.error?.message ?? `exit ${r.status}`}):\n${b.body}`,
      );
      console.error(`--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      failed = true;
      break;
    }
    cwd = readFileSync(cwdFile, 'utf8').trim();
    console.error(
      `replay-guide: ${rel}:${b.line} ran in ${Date.now() - t0} ms: ${b.body.trim().split('\n').join(' ; ')}`,
    );
    count += 1;
  }
}
if (!failed && count === 0) {
  console.error(`replay-guide: ${rel} has no replayable blocks`);
  failed = true;
}
if (!keep || !failed) rmSync(work, { recursive: true, force: true });
else console.error(`replay-guide: kept ${work}`);
if (failed) process.exit(1);
console.log(`replayed ${count} blocks of ${rel} in ${Date.now() - started} ms`);
