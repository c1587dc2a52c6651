import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeaderCollector, LineEndNormalizer } from './receive.js';

function run(chunks: string[]): { out: string; bare: boolean } {
  const n = new LineEndNormalizer();
  let out = '';
  for (const c of chunks) out += n.push(Buffer.from(c, 'latin1')).toString('latin1');
  out += n.end().toString('latin1');
  return { out, bare: n.bare };
}

test('CRLF text passes unchanged and is not flagged', () => {
  assert.deepEqual(run(['a\r\nb\r\n']), { out: 'a\r\nb\r\n', bare: false });
});

test('bare LF and bare CR become CRLF and are flagged', () => {
  assert.deepEqual(run(['a\nb\rc\r\n']), { out: 'a\r\nb\r\nc\r\n', bare: true });
});

test('a CRLF split across chunks is not mistaken for bare CR or LF', () => {
  assert.deepEqual(run(['a\r', '\nb\r', '\n']), { out: 'a\r\nb\r\n', bare: false });
});

test('a CR at the very end is bare', () => {
  assert.deepEqual(run(['a\r']), { out: 'a\r\n', bare: true });
});

/** The header block by definition: the message up to the CRLF that ends its last header line. */
function expectedBlock(msg: Buffer): Buffer {
  const at = Buffer.concat([Buffer.from('\r\n'), msg]).indexOf('\r\n\r\n');
  return at === -1 ? msg : msg.subarray(0, at);
}

test('the header block is found wherever the chunks are cut', () => {
  // Few distinct bytes, so that blank lines, split CRLFs and near-misses are frequent.
  const alphabet = Buffer.from('\r\n\r\n\r\na:');
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 3000; round++) {
    const msg = Buffer.alloc(1 + rand(40));
    for (let i = 0; i < msg.length; i++) msg[i] = alphabet[rand(alphabet.length)] ?? 0;
    const h = new HeaderCollector();
    for (let at = 0; at < msg.length;) {
      const next = Math.min(msg.length, at + 1 + rand(6));
      h.push(msg.subarray(at, next));
      at = next;
    }
    h.finish();
    assert.deepEqual(h.block, expectedBlock(msg), JSON.stringify(msg.toString('latin1')));
  }
  const h = new HeaderCollector();
  h.push(Buffer.from('Subject: x\r\nTo: y\r\n\r\nbody\r\n'));
  assert.equal(h.block?.toString(), 'Subject: x\r\nTo: y\r\n');
});
