import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../log.js';
import { systemClock } from '../util/clock.js';
import { Committer } from './committer.js';
import { SqliteQueueStore } from './sqlite.js';
import { Spool } from './spool.js';

interface Fixture {
  readonly spool: Spool;
  readonly store: SqliteQueueStore;
  readonly committer: Committer;
  readonly logged: string[];
}

/** Bodies stored with their records, by queue id. */
function storedBodies(store: SqliteQueueStore): string[] {
  return store.sqlite.prepare('SELECT queue_id FROM bodies ORDER BY queue_id').pluck().all() as string[];
}

async function fixture(t: TestContext, inlineMax = 0): Promise<Fixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sh-committer-'));
  const store = new SqliteQueueStore(path.join(dir, 'queue.sqlite'));
  await store.init();
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const logged: string[] = [];
  const log = createLogger({ level: 'warn', destination: { write: (s: string) => logged.push(s) } });
  const spool = new Spool(path.join(dir, 'spool'));
  if (inlineMax) spool.attachInline(store.inlineBodies, inlineMax);
  return { spool, store, committer: new Committer(spool, store, systemClock, log), logged };
}

const RAW = `Subject: offer\r\nTo: <a@example.net>\r\n\r\n${'a campaign body line\r\n'.repeat(1000)}`;

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

test('a message held for every recipient has its body shared; others stay single files', async (t) => {
  const f = await fixture(t);
  const heldId = await f.committer.submit('test', {
    from: 's@x',
    to: ['a@x', 'b@x'],
    raw: RAW,
    hold: 'spam',
  });
  const activeId = await f.committer.submit('test', { from: 's@x', to: ['a@x'], raw: RAW });
  assert.deepEqual(await f.spool.entry(heldId), { single: false, head: true, body: true });
  assert.deepEqual(await f.spool.entry(activeId), { single: true, head: false, body: false });
  assert.equal(await readAll(f.spool.open(heldId)), RAW);
});

test('a failing share is logged at warn and the commit still succeeds', async (t) => {
  const f = await fixture(t);
  // A file where the bodies directory should be: no canonical body can be written.
  writeFileSync(f.spool.bodiesDir, 'in the way');
  const id = await f.committer.submit('test', { from: 's@x', to: ['a@x'], raw: RAW, hold: 'spam' });
  assert.deepEqual(await f.spool.entry(id), { single: true, head: false, body: false });
  assert.equal(await readAll(f.spool.open(id)), RAW);
  assert.equal(f.logged.length, 1);
  assert.match(f.logged[0] as string, /could not share the body of a held message/);
  assert.match(f.logged[0] as string, new RegExp(`"queue_id":"${id}"`));
});

test('a small body going to delivery is stored with its records: no spool file; removed once finished', async (t) => {
  const f = await fixture(t, 64 * 1024);
  const id = await f.committer.submit('test', { from: 's@x', to: ['a@x'], raw: RAW });
  assert.deepEqual(storedBodies(f.store), [id]);
  assert.deepEqual(await f.spool.entry(id), { single: false, head: false, body: false }, 'no file');
  assert.deepEqual(f.spool.listCommitted(), []);
  assert.equal(await readAll(f.spool.open(id)), RAW);
  assert.equal(await f.spool.size(id), Buffer.byteLength(RAW));
  assert.equal(await f.spool.shareBody(id), false, 'nothing to share');
  await f.spool.remove(id);
  await f.store.close(); // the removal goes with the next group commit: drained here
  const reopened = new SqliteQueueStore(path.join(path.dirname(f.spool.root), 'queue.sqlite'));
  await reopened.init();
  t.after(() => reopened.close());
  assert.deepEqual(storedBodies(reopened), []);
});

test('held, discarded and too big bodies are not stored with their records', async (t) => {
  const f = await fixture(t, 64 * 1024);
  const held = await f.committer.submit('test', { from: 's@x', to: ['a@x'], raw: RAW, hold: 'spam' });
  const big = `Subject: big\r\n\r\n${'x'.repeat(70_000)}\r\n`;
  const large = await f.committer.submit('test', { from: 's@x', to: ['a@x'], raw: big });
  assert.deepEqual(storedBodies(f.store), []);
  assert.deepEqual(await f.spool.entry(held), { single: false, head: true, body: true }, 'held: shared file');
  assert.deepEqual(await f.spool.entry(large), { single: true, head: false, body: false });
  assert.equal(await readAll(f.spool.open(large)), big);
  // No recipient gets it: the records are kept (explain, history), the body nowhere.
  const w = await f.spool.create('238ZZZZZZZZZZZ');
  await w.write(Buffer.from(RAW));
  await w.finish();
  await f.committer.commit(w, {
    queueId: w.queueId,
    arrivalTime: Date.now(),
    sender: 's@x',
    size: w.size,
    clientAddress: '',
    clientHelo: '',
    authUser: '',
    origin: 'test',
    results: [],
    trace: [],
    recipients: [{ address: 'a@x', state: 'discarded', reason: 'spam' }],
  });
  assert.equal(await f.spool.size(w.queueId), undefined);
  assert.deepEqual(f.spool.listCommitted().sort(), [held, large].sort());
});

test('a stored body whose removal was lost is swept at start-up; a pending one stays', async (t) => {
  const f = await fixture(t, 64 * 1024);
  const done = await f.committer.submit('test', { from: 's@x', to: ['a@x'], raw: RAW });
  const pending = await f.committer.submit('test', { from: 's@x', to: ['b@x'], raw: RAW });
  f.store.sqlite.prepare(`UPDATE recipients SET state = 'delivered' WHERE queue_id = ?`).run(done);
  assert.equal(f.spool.sweepInline(), 1);
  assert.deepEqual(storedBodies(f.store), [pending]);
});

test('deleting a message deletes its stored body with it', async (t) => {
  const f = await fixture(t, 64 * 1024);
  const id = await f.committer.submit('test', { from: 's@x', to: ['a@x'], raw: RAW });
  await f.store.remove(id, Date.now());
  assert.deepEqual(storedBodies(f.store), []);
  assert.equal(await f.spool.size(id), undefined);
});
