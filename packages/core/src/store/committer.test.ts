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
  readonly committer: Committer;
  readonly logged: string[];
}

async function fixture(t: TestContext): Promise<Fixture> {
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
  return { spool, committer: new Committer(spool, store, systemClock, log), logged };
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
