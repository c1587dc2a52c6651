import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { silentLogger } from '../log.js';
import { newQueueId } from '../util/queue-id.js';
import { recoverSpool } from './recover.js';
import { SqliteQueueStore } from './sqlite.js';
import { Spool } from './spool.js';

interface Fixture {
  readonly spool: Spool;
  readonly store: SqliteQueueStore;
}

async function fixture(t: TestContext): Promise<Fixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sh-recover-'));
  const store = new SqliteQueueStore(path.join(dir, 'queue.sqlite'));
  await store.init();
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { spool: new Spool(path.join(dir, 'spool')), store };
}

const BODY = Buffer.from('a line of a campaign body, long enough to be shared\r\n'.repeat(300));

function messageFor(to: string): Buffer {
  return Buffer.concat([Buffer.from(`Message-ID: <${to}@spam.example>\r\nTo: <${to}>\r\n\r\n`), BODY]);
}

/** Spools and records a held message; returns its id. */
async function held(f: Fixture, raw: Buffer): Promise<string> {
  const id = newQueueId();
  const w = await f.spool.create(id);
  await w.write(raw);
  await w.finish();
  await w.commit();
  await f.store.commit({
    queueId: id,
    arrivalTime: Date.now(),
    sender: 'spammer@example.com',
    size: raw.length,
    clientAddress: '192.0.2.1',
    clientHelo: 'relay.example',
    authUser: '',
    origin: 'smtp',
    results: [],
    trace: [],
    recipients: [{ address: 'victim@example.net', state: 'hold', reason: 'spam' }],
  });
  return id;
}

/** The names a share writes, made by hand as a crash would leave them (the single file kept). */
function handMadePair(
  spool: Spool,
  id: string,
  raw: Buffer,
  parts: { head: boolean; body: boolean },
): string {
  const canonical = spool.canonicalPath(createHash('sha256').update(BODY).digest('hex'));
  mkdirSync(path.dirname(canonical), { recursive: true });
  if (!existsSync(canonical)) writeFileSync(canonical, BODY);
  if (parts.head) writeFileSync(`${spool.pathOf(id)}.h`, raw.subarray(0, raw.length - BODY.length));
  if (parts.body) linkSync(canonical, `${spool.pathOf(id)}.b`);
  return canonical;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

test('a share cut short leaves the single file: the pair, a lone .h or a lone .b is removed', async (t) => {
  const f = await fixture(t);
  const raws = ['both@x', 'head@x', 'body@x'].map(messageFor);
  const [both, head, body] = await Promise.all(raws.map((r) => held(f, r)));
  const canonical = handMadePair(f.spool, both as string, raws[0] as Buffer, { head: true, body: true });
  handMadePair(f.spool, head as string, raws[1] as Buffer, { head: true, body: false });
  handMadePair(f.spool, body as string, raws[2] as Buffer, { head: false, body: true });
  assert.equal(statSync(canonical).nlink, 3);

  await recoverSpool(f.store, f.spool, silentLogger());

  for (const [i, id] of [both, head, body].entries()) {
    assert.deepEqual(await f.spool.entry(id as string), { single: true, head: false, body: false });
    assert.deepEqual(await readAll(f.spool.open(id as string)), raws[i]);
  }
  assert.ok(!existsSync(canonical), 'the canonical no message links to any more is gone');
});

test('shared messages survive a restart; unreferenced ones and lone canonical bodies are removed', async (t) => {
  const f = await fixture(t);
  const keepRaw = messageFor('keep@x');
  const keep = await held(f, keepRaw);
  assert.equal(await f.spool.shareBody(keep), true);
  // A shared message the database does not know (crash between spool and database commit).
  const stray = newQueueId();
  const w = await f.spool.create(stray);
  await w.write(messageFor('stray@x'));
  await w.finish();
  await w.commit();
  assert.equal(await f.spool.shareBody(stray), true);
  // A canonical body nothing links to (crash after writing it, before the link).
  const orphan = f.spool.canonicalPath(createHash('sha256').update('orphan').digest('hex'));
  mkdirSync(path.dirname(orphan), { recursive: true });
  writeFileSync(orphan, 'orphan');

  await recoverSpool(f.store, f.spool, silentLogger());

  assert.deepEqual(f.spool.listCommitted(), [keep]);
  assert.deepEqual(await readAll(f.spool.open(keep)), keepRaw, 'passes the size check, is not moved aside');
  assert.ok(!existsSync(f.spool.corruptDir) || !existsSync(path.join(f.spool.corruptDir, keep)));
  assert.ok(!existsSync(orphan));
  const canonical = f.spool.canonicalPath(createHash('sha256').update(BODY).digest('hex'));
  assert.equal(statSync(canonical).nlink, 2, 'the kept message still links to its canonical');
});

test('a pending message with only one part, or a damaged shared body, is moved aside', async (t) => {
  const f = await fixture(t);
  const loneRaw = messageFor('lone@x');
  const lone = await held(f, loneRaw);
  assert.equal(await f.spool.shareBody(lone), true);
  rmSync(`${f.spool.pathOf(lone)}.b`);
  const damagedRaw = messageFor('damaged@x');
  const damaged = await held(f, damagedRaw);
  assert.equal(await f.spool.shareBody(damaged), true);
  // Truncate the shared body through a copy (the canonical and the link become different files).
  const link = `${f.spool.pathOf(damaged)}.b`;
  copyFileSync(link, `${link}.tmp`);
  rmSync(link);
  writeFileSync(link, readFileSync(`${link}.tmp`).subarray(0, 100));
  rmSync(`${link}.tmp`);

  await recoverSpool(f.store, f.spool, silentLogger());

  const header = loneRaw.subarray(0, loneRaw.length - BODY.length);
  assert.deepEqual(
    readFileSync(path.join(f.spool.corruptDir, lone)),
    header,
    'what was left, for the operator',
  );
  assert.deepEqual(
    readFileSync(path.join(f.spool.corruptDir, damaged)),
    damagedRaw.subarray(0, damagedRaw.length - BODY.length + 100),
  );
  assert.deepEqual(f.spool.listCommitted(), []);
});
