/**
 * retention.test.ts — finished messages are forgotten after [store]
 * keep_finished; pending ones and recent ones never are.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../log.js';
import { newQueueId } from '../util/queue-id.js';
import { compact, purgeFinished } from './retention.js';
import { SqliteQueueStore } from './sqlite.js';
import { testMessage } from './test-message.js';
import type { RecipientState } from './types.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 3);

async function store(t: TestContext): Promise<SqliteQueueStore> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sh-retention-'));
  const s = new SqliteQueueStore(path.join(dir, 'queue.sqlite'));
  await s.init();
  t.after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** Commits a message that arrived `age` ms before NOW, its recipients in `states`, last changed `changed` ms before NOW. */
async function put(
  s: SqliteQueueStore,
  age: number,
  states: RecipientState[],
  changed = age,
): Promise<string> {
  const queueId = newQueueId(NOW - age);
  await s.commit(
    testMessage(queueId, {
      arrivalTime: NOW - age,
      size: 3,
      recipients: states.map((_, i) => ({ address: `r${String(i)}@example.net`, state: 'active' as const })),
      body: Buffer.from('hi\n'),
    }),
  );
  s.sqlite.prepare('UPDATE recipients SET updated_at = ? WHERE queue_id = ?').run(NOW - changed, queueId);
  const ids = s.sqlite
    .prepare('SELECT id FROM recipients WHERE queue_id = ? ORDER BY id')
    .pluck()
    .all(queueId);
  states.forEach((state, i) => {
    s.sqlite.prepare('UPDATE recipients SET state = ? WHERE id = ?').run(state, ids[i]);
  });
  return queueId;
}

function left(s: SqliteQueueStore): string[] {
  return s.sqlite.prepare('SELECT queue_id FROM messages ORDER BY queue_id').pluck().all() as string[];
}

test('finished messages older than keep_finished go, with recipients and stored bodies; pending and recent ones stay', async (t) => {
  const s = await store(t);
  const delivered = await put(s, 9 * DAY, ['delivered', 'bounced']);
  const discarded = await put(s, 8 * DAY, ['discarded']);
  const held = await put(s, 30 * DAY, ['hold']);
  const half = await put(s, 9 * DAY, ['delivered', 'deferred']);
  const recentChange = await put(s, 9 * DAY, ['delivered'], 1 * DAY);
  const young = await put(s, 1 * DAY, ['delivered']);
  const log = createLogger({ level: 'silent' });
  assert.equal(await purgeFinished(s, NOW, 7 * DAY, log), 2);
  assert.deepEqual(left(s), [held, half, recentChange, young].sort());
  assert.equal(
    s.sqlite
      .prepare('SELECT count(*) FROM recipients WHERE queue_id IN (?, ?)')
      .pluck()
      .get(delivered, discarded),
    0,
  );
  assert.equal(s.sqlite.prepare('SELECT count(*) FROM bodies').pluck().get(), 4);
  assert.equal(await purgeFinished(s, NOW, 7 * DAY, log), 0, 'nothing more to do');
});

test('each call looks at a bounded number of messages and goes on where the last one stopped', async (t) => {
  const s = await store(t);
  const held = await put(s, 10 * DAY, ['hold']);
  await put(s, 9 * DAY, ['delivered']);
  await put(s, 8 * DAY, ['delivered']);
  const before = NOW - 7 * DAY;
  assert.deepEqual(await s.purgeFinished(before, 2), { deleted: 1, more: true }, 'held, a');
  assert.deepEqual(await s.purgeFinished(before, 2), { deleted: 1, more: false }, 'b, then the end');
  assert.deepEqual(left(s), [held]);
  assert.deepEqual(await s.purgeFinished(before, 2), { deleted: 0, more: false }, 'from the oldest again');
});

test('the space of deleted bodies goes back to the file system, keeping some slack', async (t) => {
  const s = await store(t);
  assert.equal(s.sqlite.pragma('auto_vacuum', { simple: true }), 2, 'incremental, in a new database');
  const pageSize = s.sqlite.pragma('page_size', { simple: true }) as number;
  assert.equal(pageSize, 8192, '8 KB pages in a new database');
  const MB = 1024 * 1024;
  const body = Buffer.alloc(200_000, 0x61);
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    const queueId = newQueueId(NOW - i);
    ids.push(queueId);
    await s.commit(testMessage(queueId, { arrivalTime: NOW, size: body.length, body }));
  }
  for (const id of ids) await s.remove(id, NOW);
  const free = (): number => (s.sqlite.pragma('freelist_count', { simple: true }) as number) * pageSize;
  assert.ok(free() > 16 * MB, `~20 MB free after the deletes (${String(free())} bytes)`);
  const before = free();
  const given = await compact(s);
  assert.ok(given > 0 && given <= 16 * MB, `a bounded amount per run (${String(given)} bytes)`);
  assert.equal(before - free(), given, 'what it says it gave back');
  while ((await compact(s)) > 0);
  assert.ok(
    free() <= 8 * MB && free() > 8 * MB - 2 * pageSize,
    `what is above the slack is given back (${String(free())} of ${String(before)} bytes left)`,
  );
  assert.equal(await compact(s), 0, 'then nothing more');
});
