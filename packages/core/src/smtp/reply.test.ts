import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLines, reply, verdictReply } from './reply.js';

test('every reply line fits in 512 octets with code and enhanced code', () => {
  const long = 'word '.repeat(300);
  const lines = fitLines(long, '5.2.1');
  assert.ok(lines.length > 1);
  for (const l of lines) assert.ok(Buffer.byteLength(`552-5.2.1 ${l}\r\n`) <= 512, l);
});

test('a long URL without spaces is cut hard rather than overflowing', () => {
  const lines = fitLines('x'.repeat(1200), '5.2.1');
  assert.equal(lines.join(''), 'x'.repeat(1200));
  for (const l of lines) assert.ok(Buffer.byteLength(`552-5.2.1 ${l}\r\n`) <= 512);
});

test('multi-line replies carry the enhanced code on each line', () => {
  assert.equal(reply(552, '5.2.1', ['held', 'http://x/r/abc']).message, '5.2.1 held\n5.2.1 http://x/r/abc');
});

test('a reject can never carry a 4xx code, nor a tempfail a 5xx', () => {
  assert.equal(verdictReply({ kind: 'reject', code: 451 }).responseCode, 550);
  assert.equal(verdictReply({ kind: 'tempfail', code: 550, enhanced: '5.1.1' }).responseCode, 451);
  assert.equal(verdictReply({ kind: 'tempfail', code: 550, enhanced: '5.1.1' }).enhanced, '4.3.0');
  assert.equal(
    verdictReply({ kind: 'reject', code: 552, enhanced: '5.2.1', text: 'held' }).message,
    '5.2.1 held',
  );
});
