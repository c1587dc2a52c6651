// Acceptance: following docs/guides/writing-a-plugin.md literally works. scripts/replay-guide.mjs runs
// the guide's `sh replay` blocks and writes its `file=` blocks in a fresh directory (scaffold, npm
// install linked to this checkout, npm test, plugin info/list); this test runs it, bounded in time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { ownCheckout } from './scaffold/scaffold.js';
import { cleanup, tmp } from './test-process.js';

after(cleanup);

const root = ownCheckout() ?? '';
const SCRIPT = path.join(root, 'scripts/replay-guide.mjs');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
const npmAvailable = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;

function replay(
  args: string[],
  timeoutMs: number,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    env,
  });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: `${r.stderr}${r.error ? `\n${r.error.message}` : ''}`,
  };
}

test(
  'writing-a-plugin.md replays step by step',
  { timeout: 330_000, skip: npmAvailable ? false : 'npm is not on PATH' },
  () => {
    const r = replay([], 320_000);
    assert.equal(r.status, 0, `the guide does not replay:\n${r.stderr}`);
    assert.match(r.stdout, /replayed \d+ blocks/);
    // The steps the acceptance asks for: scaffold, the files the guide shows, npm install, npm test.
    assert.match(r.stderr, /smarthold plugin new scan-log/);
    assert.match(r.stderr, /wrote smarthold-plugin-scan-log\/src\/index\.ts/);
    assert.match(r.stderr, /ran in \d+ ms: npm test/);
    process.stdout.write(`# ${r.stdout.trim()}\n`);
  },
);

test('a failing block fails the replay, naming the line', () => {
  const dir = tmp();
  const guide = path.join(dir, 'guide.md');
  writeFileSync(
    guide,
    '# g\n\n```txt file=a.txt\nhello\n```\n\n```sh replay\ntest -f a.txt\nfalse\n```\n\n```sh replay\necho never\n```\n',
  );
  const r = replay([guide], 30_000);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /guide\.md:7: block failed/);
  assert.doesNotMatch(r.stderr, /never/);
});

test('a guide without replayable blocks fails', () => {
  const dir = tmp();
  const guide = path.join(dir, 'guide.md');
  writeFileSync(guide, '# g\n\n```sh\necho prose\n```\n');
  assert.equal(replay([guide], 30_000).status, 1);
});
