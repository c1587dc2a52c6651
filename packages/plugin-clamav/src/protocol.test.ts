/**
 * protocol.test.ts — INSTREAM framing and clamd's replies, without a socket.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkHeader, frames, parseReply, replyLines } from './protocol.js';

test('chunk header: 4 octets, network byte order', () => {
  assert.deepEqual([...chunkHeader(0)], [0, 0, 0, 0]);
  assert.deepEqual([...chunkHeader(70_000)], [0, 1, 0x11, 0x70]);
});

test('frames: header + data pairs of at most max octets', () => {
  const data = Buffer.from('abcdefghij');
  const out = [...frames(data, 4)];
  assert.equal(out.length, 6);
  assert.deepEqual(
    out.filter((_, i) => i % 2 === 1).map((b) => b.toString()),
    ['abcd', 'efgh', 'ij'],
  );
  assert.equal(out[4]?.readUInt32BE(0), 2);
  assert.deepEqual(
    [...frames(Buffer.alloc(0), 4)],
    [],
    'an empty piece sends no frame (that would end the stream)',
  );
});

test('reply lines: NUL (z commands) or newline (n commands) terminated', () => {
  assert.deepEqual(replyLines(Buffer.from('stream: OK\0')), { lines: ['stream: OK'], complete: true });
  assert.deepEqual(replyLines(Buffer.from('stream: O')), { lines: ['stream: O'], complete: false });
  assert.deepEqual(replyLines(Buffer.from('PONG\n')), { lines: ['PONG'], complete: true });
});

test('parseReply: OK, FOUND (one or several), size limit, other errors', () => {
  assert.deepEqual(parseReply(['stream: OK']), { kind: 'clean' });
  assert.deepEqual(parseReply(['stream: Win.Test.EICAR_HDB-1 FOUND']), {
    kind: 'found',
    viruses: ['Win.Test.EICAR_HDB-1'],
  });
  // AllMatchScanning: one line per signature.
  assert.deepEqual(parseReply(['stream: A.B FOUND', 'stream: C.D FOUND']), {
    kind: 'found',
    viruses: ['A.B', 'C.D'],
  });
  assert.deepEqual(parseReply(['INSTREAM size limit exceeded. ERROR']), {
    kind: 'size-limit',
    text: 'INSTREAM size limit exceeded.',
  });
  assert.deepEqual(parseReply(["stream: Can't create temporary file ERROR"]), {
    kind: 'error',
    text: "stream: Can't create temporary file",
  });
  assert.throws(() => parseReply(['HTTP/1.1 400 Bad Request']), /not a clamd reply/);
  assert.throws(() => parseReply([]), /empty reply/);
});
