/**
 * sqlite-hot.test.ts — group commit on the real SQLite store: concurrent
 * commits share a transaction, a bad message fails alone, and a commit never
 * lands inside another transaction left open across an await.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HotPath } from './sqlite-hot.js';
import { SqliteQueueStore } from './sqlite.js';
import { testMessage } from './test-message.js';
import type { NewMessage } from './types.js';

function msg(id: string): NewMessage {
  return testMessage(id);
}

async function withStore(fn: (s: SqliteQueueStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smarthold-hot-'));
  const s = new SqliteQueueStore(path.join(dir, 'q.sqlite'));
  await s.init();
  try {
    await fn(s);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('concurrent commits share one transaction; each resolves once it is written', async () => {
  await withStore(async (s) => {
    let commits = 0;
    const orig = s.sqlite.transaction.bind(s.sqlite);
    s.sqlite.transaction = ((fn: () => void) => {
      const t = orig(fn);
      return Object.assign(() => {
        commits++;
        t();
      }, t);
    }) as typeof s.sqlite.transaction;
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.commit(msg(`ID${String(i).padStart(4, '0')}`))));
    assert.equal(commits, 1);
    assert.equal((await s.list()).length, 20);
  });
});

test('a bad message in a batch fails alone', async () => {
  await withStore(async (s) => {
    await s.commit(msg('DUP0001'));
    const results = await Promise.allSettled([
      s.commit(msg('OK00001')),
      s.commit(msg('DUP0001')),
      s.commit(msg('OK00002')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual((await s.list()).map((m) => m.queue_id).sort(), ['DUP0001', 'OK00001', 'OK00002']);
  });
});

test('a commit waits for a transaction held open across an await, and is not rolled back with it', async () => {
  await withStore(async (s) => {
    await s.commit(msg('KEEP001'));
    let committed = false;
    await assert.rejects(
      s.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('recipients').where('queue_id', '=', 'KEEP001').execute();
        const p = s.commit(msg('NEW0001')).then(() => {
          committed = true;
        });
        await new Promise((r) => setTimeout(r, 30));
        assert.equal(committed, false, 'not written inside the open transaction');
        void p;
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(committed, true);
    const ids = (await s.list()).map((m) => m.queue_id).sort();
    assert.deepEqual(ids, ['KEEP001', 'NEW0001']);
  });
});

test('with a WAL fsync off the event loop, a commit resolves only after it, and commits during it are grouped', async () => {
  await withStore(async (s) => {
    const syncs: (() => void)[] = [];
    const hot = new HotPath(s.sqlite, () => new Promise<void>((resolve) => syncs.push(resolve)));
    let transactions = 0;
    const orig = s.sqlite.transaction.bind(s.sqlite);
    s.sqlite.transaction = ((fn: () => void) => {
      const t = orig(fn);
      return Object.assign(() => {
        transactions++;
        t();
      }, t);
    }) as typeof s.sqlite.transaction;
    let firstDone = false;
    const first = hot.commit(msg('SYNC001')).then(() => {
      firstDone = true;
    });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(syncs.length, 1, 'the first batch is written and its fsync started');
    assert.equal(firstDone, false, 'not resolved before the fsync');
    const later = [hot.commit(msg('SYNC002')), hot.commit(msg('SYNC003')), hot.commit(msg('SYNC004'))];
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(transactions, 1, 'nothing more is written while the fsync is in flight');
    syncs[0]?.();
    await first;
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(transactions, 2, 'the three waiting commits go in one transaction');
    syncs[1]?.();
    await Promise.all(later);
    assert.equal((await s.list()).length, 4);
  });
});

test('updates that need no fsync of their own are written without one; with a commit in the batch, its fsync covers them', async () => {
  await withStore(async (s) => {
    let syncs = 0;
    const hot = new HotPath(s.sqlite, () => {
      syncs++;
      return Promise.resolve();
    });
    const [id] = await hot.commit(msg('238AAAAAAAAAAA'));
    assert.equal(syncs, 1, 'a commit is fsynced');
    const u = {
      id: id as number,
      state: 'delivered' as const,
      attempts: 1,
      nextAttemptAt: 2,
      delayReason: '',
      relay: 'r',
      dsn: '2.0.0',
    };
    await hot.update([u], 2, false);
    assert.equal(syncs, 1, 'an unsynced update alone: written, no fsync');
    assert.equal(hot.isFinished('238AAAAAAAAAAA'), true);
    await Promise.all([hot.update([{ ...u, attempts: 2 }], 3, false), hot.commit(msg('238AAAAAAAAAAB'))]);
    assert.equal(syncs, 2, 'in a batch with a commit: one fsync for both');
    await hot.update([{ ...u, attempts: 3 }], 4);
    assert.equal(syncs, 3, 'a synced update: fsynced');
  });
});
