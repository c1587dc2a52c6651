import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PATCHED_NODEMAILER,
  loadDataStream,
  nodemailerVersion,
  originalTransform,
  passesUnchanged,
  patchDataStream,
} from './data-stream-patch.js';
import { markCrlfClean } from '../util/crlf-clean.js';

/** Runs chunks through a DataStream whose _transform is `transform` (or the installed one). */
async function encode(chunks: Buffer[], useOriginal: boolean): Promise<Buffer> {
  const DataStream = await loadDataStream();
  const d = new DataStream();
  const own = originalTransform();
  if (useOriginal && own) (d as unknown as { _transform: typeof own })._transform = own;
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => d.on('end', r));
  for (const c of chunks) d.write(c);
  d.end();
  await done;
  return Buffer.concat(out);
}

test('the nodemailer override is for the installed version', async () => {
  assert.equal(nodemailerVersion(), PATCHED_NODEMAILER);
  await patchDataStream();
  assert.ok(originalTransform(), 'installed, with the library transform kept');
});

test('a chunk passes unchanged only without bare CR/LF and line-leading dots', () => {
  const b = (s: string) => Buffer.from(s);
  assert.equal(passesUnchanged(b('a\r\nb\r\n'), false), true);
  assert.equal(passesUnchanged(b('a\r\n.b\r\n'), false), false, 'dot after CRLF');
  assert.equal(passesUnchanged(b('.a\r\n'), false), false, 'dot at the very start');
  assert.equal(passesUnchanged(b('.a\r\n'), 0x0a), false, 'dot after the previous chunk ended a line');
  assert.equal(passesUnchanged(b('.a\r\n'), 0x61), true, 'dot in the middle of a line');
  assert.equal(passesUnchanged(b('a\nb'), false), false, 'bare LF');
  assert.equal(passesUnchanged(b('a\rb'), false), false, 'bare CR');
  assert.equal(passesUnchanged(b('a\r'), false), true, 'CR at the end: the next chunk decides');
  assert.equal(passesUnchanged(b('\nb'), 0x0d), true, 'CRLF across chunks');
  assert.equal(passesUnchanged(b('\n.b'), 0x0d), false, 'CRLF across chunks, then a dot');
  assert.equal(passesUnchanged(b('b'), 0x0d), false, 'bare CR across chunks');
  assert.equal(passesUnchanged(b('\nb'), 0x61), false, 'bare LF at the start');
});

/**
 * Encodes 400 random texts, cut into random chunks (marked CRLF-clean with
 * `mark`), with the fast path and with the library's own code; they must agree.
 */
async function agreesWithLibrary(
  seed: number,
  text: (rnd: (n: number) => number) => string,
  mark: boolean,
): Promise<void> {
  await patchDataStream();
  let state = seed;
  const rnd = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  for (let round = 0; round < 400; round++) {
    const raw = Buffer.from(text(rnd));
    const chunks: Buffer[] = [];
    for (let at = 0; at < raw.length;) {
      const size = 1 + rnd(40);
      const chunk = raw.subarray(at, at + size);
      chunks.push(mark ? markCrlfClean(Buffer.from(chunk)) : chunk);
      at += size;
    }
    const fast = await encode(chunks, false);
    const lib = await encode(chunks, true);
    assert.deepEqual(fast, lib, JSON.stringify(raw.toString()));
  }
}

/** 1–60 random pieces; with `clean`, three in four of them are that line instead. */
function pieced(rnd: (n: number) => number, pieces: string[], clean?: string): string {
  let text = '';
  const n = 1 + rnd(60);
  for (let i = 0; i < n; i++)
    text += clean !== undefined && rnd(4) ? clean : (pieces[rnd(pieces.length)] ?? '');
  return text;
}

test('with the fast path, every message is encoded byte for byte as the library encodes it', async () => {
  const pieces = ['a', 'word ', '\r\n', '.', '..', '\r', '\n', '\r\n.', 'x.y', ' '];
  // Mostly clean CRLF text, so that both paths run.
  await agreesWithLibrary(42, (rnd) => pieced(rnd, pieces, 'some text here\r\n'), false);
  const big = Buffer.from('the meeting was moved to thursday\r\n'.repeat(3000));
  assert.deepEqual(await encode([big], false), Buffer.concat([big, Buffer.from('.\r\n')]));
});

test('chunks of a spooled message (CRLF line ends only, marked) are encoded as the library encodes them', async () => {
  // No bare CR or LF, as ingress leaves every message; CRLFs are cut between chunks too.
  const pieces = ['a', 'word ', '\r\n', '.', '..', '\r\n.', '\r\n..', 'x.y', ' ', '\r\n.\r\n'];
  await agreesWithLibrary(7, (rnd) => pieced(rnd, pieces), true);
  const clean = markCrlfClean(Buffer.from('a\r\n.b\r\n'));
  assert.equal(passesUnchanged(clean, false), false, 'a marked chunk is still searched for dots');
  assert.equal(passesUnchanged(markCrlfClean(Buffer.from('\r\nb\r\n')), false), true);
  // After a chunk that is not a spooled one (a DSN's own text) ending in a bare CR.
  assert.equal(passesUnchanged(markCrlfClean(Buffer.from('b\r\n')), 0x0d), false, 'bare CR before it');
  assert.equal(passesUnchanged(markCrlfClean(Buffer.from('\nb\r\n')), 0x0d), true, 'CRLF across chunks');
  assert.deepEqual(
    await encode([Buffer.from('a\r'), markCrlfClean(Buffer.from('b\r\n'))], false),
    await encode([Buffer.from('a\r'), markCrlfClean(Buffer.from('b\r\n'))], true),
  );
});
