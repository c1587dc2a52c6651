/**
 * notices/qp.test.ts — quoted-printable encoding, checked byte for byte and
 * by a strict decoder (test-mail.ts) on awkward and random input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeQuotedPrintable } from './qp.js';
import { decodeQuotedPrintable } from './test-mail.js';

/** Encodes, checks every line is legal, decodes; returns [encoded, decoded]. */
function roundTrip(text: string): [string, string] {
  const qp = encodeQuotedPrintable(text);
  return [qp, decodeQuotedPrintable(qp.endsWith('\r\n') ? qp : `${qp}\r\n`)];
}

/** A small deterministic PRNG (mulberry32), so a failure is reproducible. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('encodeQuotedPrintable', () => {
  it('keeps printable ASCII, escapes = and non-ASCII in upper-case hex', () => {
    assert.equal(encodeQuotedPrintable('a=b café €\n'), 'a=3Db caf=C3=A9 =E2=82=AC\r\n');
  });

  it('escapes a space or tab at the end of a line, not inside it', () => {
    assert.equal(encodeQuotedPrintable('-- \nx\t\ny z'), '--=20\r\nx=09\r\ny z');
  });

  it('turns CRLF, LF and a lone CR into CRLF', () => {
    assert.equal(encodeQuotedPrintable('a\r\nb\nc\rd\n'), 'a\r\nb\r\nc\r\nd\r\n');
  });

  it('soft-breaks a long line at 76 and never splits an escape', () => {
    const line = 'x'.repeat(74) + 'é' + 'y'.repeat(100);
    const qp = encodeQuotedPrintable(line);
    const lines = qp.split('\r\n');
    assert.ok(lines.every((l) => l.length <= 76));
    assert.equal(lines[0], `${'x'.repeat(74)}=`);
    assert.ok(lines[1]?.startsWith('=C3=A9y'));
    assert.equal(decodeQuotedPrintable(`${qp}\r\n`), `${line}\n`);
  });

  it('uses the full 76 on the last piece of a line', () => {
    assert.equal(encodeQuotedPrintable('a'.repeat(76)), 'a'.repeat(76));
    assert.equal(encodeQuotedPrintable('a'.repeat(77)), `${'a'.repeat(75)}=\r\naa`);
  });

  it('leaves a leading dot alone: dot-stuffing is SMTP transparency (RFC 5321 §4.5.2), not QP', () => {
    assert.equal(encodeQuotedPrintable('.\n.hidden\n'), '.\r\n.hidden\r\n');
  });

  it('writes "From " at the start of a line as =46rom (RFC 2049 §3)', () => {
    assert.equal(encodeQuotedPrintable('From me\nsay From me'), '=46rom me\r\nsay From me');
  });

  it('round-trips long lines, non-ASCII, =, trailing white space and dots', () => {
    const samples = [
      `${'long '.repeat(40)}\n`,
      'Grüße, 日本語, emoji 😀 and = signs ==== at the end=\n',
      'trailing spaces   \ntrailing tab\t\n \n\t\n',
      '.\n..\n. starts with a dot\n',
      `${'='.repeat(200)}\n${'é'.repeat(100)}\n`,
      '',
      '\n\n\n',
    ];
    for (const s of samples) {
      const [, decoded] = roundTrip(s);
      assert.equal(decoded.replace(/\n$/, ''), s.replace(/\r\n?/g, '\n').replace(/\n$/, ''));
    }
  });

  it('round-trips random text drawn from awkward characters', () => {
    const alphabet = ['a', ' ', '\t', '=', '.', 'é', '€', '😀', '\n', 'F', 'r', 'o', 'm', '-', '\u00a0'];
    const rnd = prng(20240501);
    for (let n = 0; n < 300; n++) {
      let s = '';
      const len = Math.floor(rnd() * 400);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)] ?? '';
      s += '\n';
      const [qp, decoded] = roundTrip(s);
      assert.equal(decoded, s, `sample ${n}: ${JSON.stringify(qp)}`);
    }
  });
});
