import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineEndNormalizer } from './receive.js';

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
