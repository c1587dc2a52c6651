import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { isSmartholdError } from '../errors.js';
import { isCrlfClean } from '../util/crlf-clean.js';
import { newQueueId } from '../util/queue-id.js';
import { DirSyncer, newNamesNeedDirFsync, Spool } from './spool.js';

/** A spool in a fresh temp directory, removed after the test. */
function tempSpool(t: TestContext): Spool {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sh-spool-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return new Spool(path.join(dir, 'spool'));
}

async function readAll(stream: Readable, fromSpool = true): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) {
    // What the spool hands out is marked as having CRLF line ends only (the encoder relies on it).
    if (fromSpool) assert.ok(isCrlfClean(c), 'a chunk from the spool is marked CRLF-clean');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Commits `raw` as a new message; returns its queue id. */
async function put(spool: Spool, raw: Buffer): Promise<string> {
  const id = newQueueId();
  const w = await spool.create(id);
  await w.write(raw);
  await w.finish();
  await w.commit();
  return id;
}

/** A body of `size` octets in CRLF lines, different for each seed. */
function bodyOf(size: number, seed = 'x'): Buffer {
  const line = `${seed} campaign line with some text in it 0123456789\r\n`;
  return Buffer.from(line.repeat(Math.ceil(size / line.length))).subarray(0, size);
}

function headersFor(to: string, extra = ''): Buffer {
  return Buffer.from(
    `Received: from relay.example (relay.example [192.0.2.1]) by mx.example; Tue, 1 Jul 2025 10:00:00 +0000\r\n` +
      `Message-ID: <${to}.${Math.random()}@spam.example>\r\nTo: <${to}>\r\nSubject: offer\r\n${extra}\r\n`,
  );
}

function canonicalFiles(spool: Spool): string[] {
  if (!existsSync(spool.bodiesDir)) return [];
  return readdirSync(spool.bodiesDir).flatMap((sub) =>
    readdirSync(path.join(spool.bodiesDir, sub)).map((n) => path.join(spool.bodiesDir, sub, n)),
  );
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

test('open() and size() give the exact bytes back, shared or not', async (t) => {
  const spool = tempSpool(t);
  const cases: { name: string; raw: Buffer; shared: boolean }[] = [
    {
      name: 'headers and a 20 KB body',
      raw: Buffer.concat([headersFor('a@x'), bodyOf(20_000)]),
      shared: true,
    },
    { name: 'no empty line at all', raw: bodyOf(30_000), shared: false },
    { name: 'headers only, no body', raw: headersFor('b@x'), shared: false },
    {
      name: 'a body too small to gain a block',
      raw: Buffer.concat([headersFor('c@x'), bodyOf(500)]),
      shared: false,
    },
    {
      name: 'bare LF only (no CRLF CRLF)',
      raw: Buffer.from(`Subject: x\n\n${'y'.repeat(20_000)}\n`),
      shared: false,
    },
    {
      // 64 KiB reads: the CRLF CRLF straddles the first read boundary.
      name: 'header end across a read boundary',
      raw: Buffer.concat([
        Buffer.from(`X-Long: ${'h'.repeat(65_536 - 10 - 2)}\r\n`),
        Buffer.from('\r\n'),
        bodyOf(50_000),
      ]),
      shared: true,
    },
    { name: 'a 3 MB body', raw: Buffer.concat([headersFor('d@x'), bodyOf(3_000_000)]), shared: true },
    {
      name: 'a body with binary octets and a second empty line',
      raw: Buffer.concat([
        headersFor('e@x'),
        Buffer.from('\r\n\r\n'),
        Buffer.from(Array.from({ length: 9000 }, (_, i) => i % 256)),
      ]),
      shared: true,
    },
  ];
  for (const c of cases) {
    const id = await put(spool, c.raw);
    assert.deepEqual(await readAll(spool.open(id)), c.raw, `${c.name}: before sharing`);
    assert.equal(await spool.shareBody(id), c.shared, `${c.name}: shareBody()`);
    const e = await spool.entry(id);
    assert.deepEqual(e, { single: !c.shared, head: c.shared, body: c.shared }, `${c.name}: names on disk`);
    assert.ok((await readAll(spool.open(id))).equals(c.raw), `${c.name}: after sharing`);
    assert.equal(await spool.size(id), c.raw.length, `${c.name}: size()`);
  }
});

test('two messages with one body and different headers store the body once', async (t) => {
  const spool = tempSpool(t);
  const body = bodyOf(40_000);
  const a = Buffer.concat([headersFor('one@x'), body]);
  const b = Buffer.concat([headersFor('two@x', 'X-Extra: more header\r\n'), body]);
  const ida = await put(spool, a);
  const idb = await put(spool, b);
  assert.equal(await spool.shareBody(ida), true);
  assert.equal(await spool.shareBody(idb), true);

  const files = canonicalFiles(spool);
  assert.equal(files.length, 1, 'one canonical body');
  const canonical = files[0] as string;
  assert.equal(canonical, spool.canonicalPath(sha256(body)));
  assert.equal(statSync(canonical).nlink, 3, 'the canonical and two message links');
  assert.equal(statSync(`${spool.pathOf(ida)}.b`).ino, statSync(canonical).ino);
  assert.deepEqual(readFileSync(`${spool.pathOf(idb)}.h`), b.subarray(0, b.length - body.length));

  assert.equal(await spool.size(ida), a.length);
  assert.equal(await spool.size(idb), b.length);
  assert.deepEqual(await readAll(spool.open(ida)), a);
  assert.deepEqual(await readAll(spool.open(idb)), b);
  assert.deepEqual(spool.listCommitted().sort(), [ida, idb].sort(), 'each id listed once');

  await spool.remove(ida);
  assert.equal(statSync(canonical).nlink, 2);
  assert.deepEqual(await readAll(spool.open(idb)), b, 'the other message is untouched');
  await spool.remove(idb);
  assert.deepEqual(canonicalFiles(spool), [], 'the canonical goes with its last message');
  assert.deepEqual(spool.listCommitted(), []);
  assert.equal(await spool.size(idb), undefined);
  assert.deepEqual(readdirSync(spool.tmpDir), [], 'no temp files left');
});

test('shareBody() of a shared message is true again; of a missing one it throws SMARTHOLD_STORE_CORRUPT', async (t) => {
  const spool = tempSpool(t);
  const id = await put(spool, Buffer.concat([headersFor('a@x'), bodyOf(10_000)]));
  assert.equal(await spool.shareBody(id), true);
  assert.equal(await spool.shareBody(id), true);
  assert.equal(statSync(canonicalFiles(spool)[0] as string).nlink, 2);
  await assert.rejects(spool.shareBody(newQueueId()), (e: unknown) =>
    isSmartholdError(e, 'SMARTHOLD_STORE_CORRUPT'),
  );
});

test('open() of a missing message fails with ENOENT on the stream', async (t) => {
  const spool = tempSpool(t);
  await assert.rejects(
    readAll(spool.open(newQueueId())),
    (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT',
  );
});

test('moveAside() of a shared message leaves one file with the original bytes in corrupt/', async (t) => {
  const spool = tempSpool(t);
  const body = bodyOf(12_000);
  const raw = Buffer.concat([headersFor('a@x'), body]);
  const other = Buffer.concat([headersFor('b@x'), body]);
  const id = await put(spool, raw);
  const keep = await put(spool, other);
  await spool.shareBody(id);
  await spool.shareBody(keep);
  const aside = await spool.moveAside(id);
  assert.equal(aside, path.join(spool.corruptDir, id));
  assert.deepEqual(readFileSync(aside), raw);
  assert.deepEqual(await spool.entry(id), { single: false, head: false, body: false });
  assert.equal(
    statSync(spool.canonicalPath(sha256(body))).nlink,
    2,
    'only the other message links to it now',
  );
  assert.deepEqual(await readAll(spool.open(keep)), other);
  // The single-file form is still renamed as before.
  const plain = await put(spool, raw);
  assert.deepEqual(readFileSync(await spool.moveAside(plain)), raw);
});

test('20 concurrent shares of one body end with one canonical linked 21 times', async (t) => {
  const spool = tempSpool(t);
  const body = bodyOf(100_000, 'same');
  const raws = Array.from({ length: 20 }, (_, i) => Buffer.concat([headersFor(`r${i}@x`), body]));
  const ids = await Promise.all(raws.map((r) => put(spool, r)));
  // Half through this Spool, half through others on the same directory (as another process would).
  const results = await Promise.all(
    ids.map((id, i) => (i % 2 ? spool : new Spool(spool.root)).shareBody(id)),
  );
  assert.deepEqual(
    results,
    ids.map(() => true),
  );
  const files = canonicalFiles(spool);
  assert.equal(files.length, 1);
  assert.equal(statSync(files[0] as string).nlink, 21);
  for (const [i, id] of ids.entries()) assert.deepEqual(await readAll(spool.open(id)), raws[i]);
  assert.deepEqual(readdirSync(spool.tmpDir), [], 'losers of the race left no temp body');
  await Promise.all(ids.map((id) => spool.remove(id)));
  assert.deepEqual(canonicalFiles(spool), []);
});

test('a share racing the removal of the last message with that body keeps both right', async (t) => {
  const spool = tempSpool(t);
  const other = new Spool(spool.root);
  const body = bodyOf(20_000, 'race');
  for (let i = 0; i < 40; i++) {
    const a = await put(spool, Buffer.concat([headersFor(`a${i}@x`), body]));
    const rawB = Buffer.concat([headersFor(`b${i}@x`), body]);
    const b = await put(spool, rawB);
    await spool.shareBody(a);
    const [, shared] = await Promise.all([other.remove(a), spool.shareBody(b)]);
    assert.equal(shared, true);
    assert.deepEqual(await readAll(spool.open(b)), rawB, `round ${i}`);
    await spool.remove(b);
    // Whichever way the race went, nothing refers to the body now.
    const left = canonicalFiles(spool).filter((f) => statSync(f).nlink > 1);
    assert.deepEqual(left, [], `round ${i}: no canonical in use`);
    await spool.sweepBodies();
    assert.deepEqual(canonicalFiles(spool), [], `round ${i}: nothing to sweep afterwards`);
  }
});

test('a message stays readable while it is being shared', async (t) => {
  const spool = tempSpool(t);
  const body = bodyOf(200_000);
  let reads = 0;
  for (let i = 0; i < 20; i++) {
    const raw = Buffer.concat([headersFor(`r${i}@x`), body]);
    const id = await put(spool, raw);
    let done = false;
    const sharing = spool.shareBody(id).finally(() => {
      done = true;
    });
    // Readers opened before, during and after the switch from one file to the pair.
    const reader = async (): Promise<void> => {
      do {
        assert.ok((await readAll(spool.open(id))).equals(raw), `round ${i}`);
        reads++;
      } while (!done);
    };
    await Promise.all([sharing, reader(), reader(), reader()]);
    assert.equal(await sharing, true);
  }
  assert.ok(reads >= 60);
});

test('listCommitted() lists each id once in either form and never the bodies', async (t) => {
  const spool = tempSpool(t);
  const body = bodyOf(9_000);
  const shared = await put(spool, Buffer.concat([headersFor('a@x'), body]));
  const single = await put(spool, Buffer.from('Subject: x\r\n\r\nshort\r\n'));
  await spool.shareBody(shared);
  assert.deepEqual(spool.listCommitted().sort(), [shared, single].sort());
  const entries = spool.listEntries();
  assert.deepEqual(entries.get(shared), { single: false, head: true, body: true });
  assert.deepEqual(entries.get(single), { single: true, head: false, body: false });
});

test('a small body is kept in memory by its writer; a large one is not', async (t) => {
  const spool = tempSpool(t);
  const small = bodyOf(10_000);
  const w = await spool.create(newQueueId());
  await w.write(small.subarray(0, 4000));
  await w.write(small.subarray(4000));
  assert.equal(w.body, undefined, 'not before finish()');
  await w.finish();
  assert.deepEqual(w.body, small);
  assert.deepEqual(await readAll(w.open(), false), small);
  await w.commit();
  assert.deepEqual(readFileSync(spool.pathOf(w.queueId)), small, 'and on disk once committed');
  const big = bodyOf(600_000);
  const wb = await spool.create(newQueueId());
  for (let i = 0; i < big.length; i += 100_000) await wb.write(big.subarray(i, i + 100_000));
  await wb.finish();
  assert.equal(wb.body, undefined);
  assert.deepEqual(await readAll(wb.open(), false), big);
});

test('a body is written under its final name; abort removes it before commit, never after', async (t) => {
  const spool = tempSpool(t);
  const w = await spool.create(newQueueId());
  // Larger than what a writer keeps in memory: complete in its file when finish() resolves.
  await w.write(bodyOf(300_000));
  await w.finish();
  assert.ok(existsSync(spool.pathOf(w.queueId)));
  await w.abort();
  assert.ok(!existsSync(spool.pathOf(w.queueId)), 'aborted before commit: gone');
  const s = await spool.create(newQueueId());
  await s.write(bodyOf(100));
  await s.finish();
  await s.abort();
  assert.ok(!existsSync(spool.pathOf(s.queueId)), 'a small one too, written in the background');
  const c = await spool.create(newQueueId());
  await c.write(bodyOf(100));
  await c.finish();
  await c.commit();
  await c.abort();
  assert.ok(existsSync(spool.pathOf(c.queueId)), 'committed: the queue owns it');
  assert.deepEqual(readdirSync(spool.tmpDir), []);
});

test('messages arriving together share a q/ subdirectory', () => {
  const now = Math.floor(Date.now() / 961) * 961; // the start of a 961 ms step
  const a = newQueueId(now);
  const b = newQueueId(now + 1);
  assert.equal(path.dirname(new Spool(os.tmpdir()).pathOf(a)).slice(-2), a.slice(5, 7));
  assert.equal(a.slice(5, 7), b.slice(5, 7));
});

test('start-up moves spool files from the old layout (last two characters) to the new one', async (t) => {
  const spool = tempSpool(t);
  const raw = bodyOf(500);
  let id = newQueueId();
  while (id.slice(-2) === id.slice(5, 7)) id = newQueueId(); // one in 961 would already be in place
  const old = path.join(spool.queueDir, id.slice(-2));
  mkdirSync(old, { recursive: true });
  writeFileSync(path.join(old, id), raw);
  writeFileSync(path.join(old, `${id}.h`), raw.subarray(0, 10));
  assert.equal(spool.relocateMisplaced(), 2);
  assert.deepEqual(await readAll(spool.open(id)), raw);
  assert.ok(existsSync(`${spool.pathOf(id)}.h`));
  assert.equal(spool.relocateMisplaced(), 0, 'nothing left to move');
});

test('directory fsyncs: requests during one in flight share the next, which starts after them', async () => {
  const started: string[] = [];
  let release: (() => void) | undefined;
  const syncer = new DirSyncer((dir) => {
    started.push(dir);
    return new Promise<void>((r) => (release = r));
  });
  const first = syncer.sync('/q/AB');
  const second = syncer.sync('/q/AB');
  const third = syncer.sync('/q/AB');
  assert.equal(started.length, 1, 'one fsync in flight');
  let secondDone = false;
  void second.then(() => (secondDone = true));
  release?.();
  await first;
  await new Promise((r) => setImmediate(r));
  assert.equal(secondDone, false, 'a request made during an fsync waits for the next one');
  assert.equal(started.length, 2, 'the next one started once the first ended, for both waiting requests');
  release?.();
  await Promise.all([second, third]);
  assert.equal(started.length, 2);
  const other = syncer.sync('/q/CD');
  assert.equal(started.length, 3, 'another directory does not wait');
  release?.();
  await other;
});

test('a file that cannot be created fails the writer at commit, and abort removes nothing', async (t) => {
  const spool = tempSpool(t);
  const id = newQueueId();
  // Someone else's file under the name: open(wx) fails with EEXIST.
  mkdirSync(path.dirname(spool.pathOf(id)), { recursive: true });
  writeFileSync(spool.pathOf(id), 'not ours');
  const w = await spool.create(id);
  await w.write(bodyOf(100));
  await w.finish();
  await assert.rejects(w.commit(), /EEXIST/);
  await w.abort();
  assert.equal(readFileSync(spool.pathOf(id), 'utf8'), 'not ours');
});

test('on ext4, XFS and btrfs a new name is durable with its file; elsewhere, or with "always", its directory is fsync\'d', () => {
  assert.equal(newNamesNeedDirFsync(os.tmpdir(), 'always'), true);
  const type = statfsSync(os.tmpdir()).type;
  const covered = [0xef53, 0x58465342, 0x9123683e].includes(type);
  assert.equal(newNamesNeedDirFsync(os.tmpdir(), 'auto'), !covered);
  assert.equal(newNamesNeedDirFsync('/nonexistent/dir', 'auto'), true, 'unknown: fsync');
});
