import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isSmartholdError } from '../errors.js';
import { startTestSmarthold } from '../testing/harness.js';
import { lockStoreDir } from './lock.js';

test('a second process on the same store directory is refused; a stale pid file is taken over', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sh-lock-'));
  try {
    // A live process that is not us (pid 1) holds the lock.
    writeFileSync(path.join(dir, 'smarthold.pid'), '1\n');
    assert.throws(
      () => lockStoreDir(dir),
      (e: unknown) =>
        isSmartholdError(e, 'SMARTHOLD_STORE_LOCKED') && /in use by smarthold process 1/.test(e.message),
    );
    // A pid that no longer exists is stale.
    writeFileSync(path.join(dir, 'smarthold.pid'), '999999999\n');
    const unlock = lockStoreDir(dir);
    assert.ok(existsSync(path.join(dir, 'smarthold.pid')));
    unlock();
    assert.ok(!existsSync(path.join(dir, 'smarthold.pid')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the lock is released on stop and when start-up fails', async () => {
  const t = await startTestSmarthold();
  assert.ok(existsSync(path.join(t.dir, 'smarthold.pid')));
  await t.stop({ keepDir: true });
  assert.ok(!existsSync(path.join(t.dir, 'smarthold.pid')));
  await assert.rejects(startTestSmarthold({ dir: t.dir, config: { plugins: ['no-such-plugin-anywhere'] } }));
  assert.ok(!existsSync(path.join(t.dir, 'smarthold.pid')), 'a failed start leaves no lock behind');
  rmSync(t.dir, { recursive: true, force: true });
});
