/**
 * notices/mime.test.ts — header formatting: dates, encoded-words, folding,
 * mailboxes, and the refusal of anything that could break a header line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assembleMessage,
  checkAddress,
  checkHostname,
  checkUnsubscribeUrl,
  encodeWords,
  foldField,
  mailboxValue,
  newMessageId,
  oneLine,
  rfc5322Date,
  subjectField,
} from './mime.js';
import { decodeWords, readMessage } from './test-mail.js';

/** The unfolded value of a formatted field ("Subject: ..."). */
const unfold = (field: string): string => field.replace(/\r\n(?=[ \t])/g, '').replace(/^[^:]+: ?/, '');

describe('rfc5322Date', () => {
  it('writes day, date, time and +0000 (RFC 5322 §3.3)', () => {
    assert.equal(rfc5322Date(Date.UTC(2024, 4, 1, 14, 3, 9)), 'Wed, 01 May 2024 14:03:09 +0000');
  });
});

describe('oneLine', () => {
  it('turns controls and line separators into spaces and drops bidi overrides', () => {
    assert.equal(oneLine('a\r\nb\tc\u2028d\u0085e\u202eevil'), 'a  b c d eevil');
  });
});

describe('subjectField', () => {
  it('leaves a short ASCII subject as it is', () => {
    assert.equal(subjectField('We are holding mail for you'), 'Subject: We are holding mail for you');
  });

  it('folds a long ASCII subject at spaces, lines ≤ 78', () => {
    const s = 'word '.repeat(40).trim();
    const f = subjectField(s);
    assert.ok(f.includes('\r\n '));
    assert.ok(f.split('\r\n').every((l) => l.length <= 78));
    assert.equal(unfold(f), s);
  });

  it('encodes a non-ASCII subject as UTF-8 encoded-words, lines ≤ 78', () => {
    const s = 'Courrier retenu pour zoë@example.fr — déjà 3 messages, 日本語 😀 '.repeat(3).trim();
    const f = subjectField(s);
    assert.match(f, /^Subject: =\?UTF-8\?B\?/);
    assert.ok(f.split('\r\n').every((l) => l.length <= 78 && /^[\x20-\x7e]*$/.test(l)));
    assert.equal(decodeWords(unfold(f)), s);
  });

  it('encodes an ASCII subject that contains "=?" or an unfoldable word', () => {
    assert.match(subjectField('=?UTF-8?B?Zm9v?= is not for decoding'), /=\?UTF-8\?B\?PT9VVEYt/);
    const long = 'x'.repeat(120);
    const f = subjectField(long);
    assert.ok(f.split('\r\n').every((l) => l.length <= 78));
    assert.equal(decodeWords(unfold(f)), long);
  });

  it('removes CR and LF, so a subject cannot add a header', () => {
    const f = subjectField('hello\r\nBcc: victim@example.org\n\nbody');
    assert.ok(!f.includes('\n'));
    assert.equal(f, 'Subject: hello Bcc: victim@example.org body');
  });
});

describe('encodeWords', () => {
  it('never splits a character between words (RFC 2047 §5)', () => {
    const s = '😀'.repeat(30);
    const words = encodeWords(s);
    assert.ok(words.length > 1);
    for (const w of words) assert.ok(w.length <= 75);
    for (const w of words) assert.ok(!decodeWords(w).includes('\ufffd'));
  });
});

describe('foldField', () => {
  it('may break right after the colon, never leaving a line of white space', () => {
    const url = `<https://example.net/${'a'.repeat(70)}>`;
    assert.equal(foldField('List-Unsubscribe', url), `List-Unsubscribe:\r\n ${url}`);
  });
});

describe('mailboxValue', () => {
  it('keeps a plain name, quotes specials, encodes non-ASCII', () => {
    assert.equal(
      mailboxValue('Mail quarantine <pm@mx.example.net>', 'from'),
      'Mail quarantine <pm@mx.example.net>',
    );
    assert.equal(mailboxValue('Example, Inc. <pm@example.net>', 'from'), '"Example, Inc." <pm@example.net>');
    assert.equal(
      mailboxValue('"Already \\"quoted\\"" <pm@example.net>', 'from'),
      '"Already \\"quoted\\"" <pm@example.net>',
    );
    assert.equal(mailboxValue('pm@example.net', 'from'), 'pm@example.net');
    const enc = mailboxValue('Quarantäne <pm@example.de>', 'from');
    assert.match(enc, /^=\?UTF-8\?B\?\S+\?= <pm@example\.de>$/);
    assert.equal(decodeWords(enc), 'Quarantäne <pm@example.de>');
  });

  it('refuses an address that could break the header', () => {
    assert.throws(() => mailboxValue('x <a@b\r\nBcc: c@d>', 'from'), TypeError);
    assert.throws(() => checkAddress('a@b.example\r\nBcc: c@d', 'to'), TypeError);
    assert.throws(() => checkAddress('a b@c', 'to'), TypeError);
    assert.throws(() => checkAddress('', 'to'), TypeError);
    assert.equal(checkAddress('"john doe"@example.org', 'to'), '"john doe"@example.org');
  });
});

describe('message ids and URLs', () => {
  it('makes unique Message-IDs on our host name', () => {
    const a = newMessageId(1, 'mx.example.net');
    assert.match(a, /^<[0-9a-z]+\.[0-9a-f]{24}@mx\.example\.net>$/);
    assert.notEqual(a, newMessageId(1, 'mx.example.net'));
    assert.throws(() => checkHostname('mx.example.net>\r\nBcc: x'), TypeError);
    assert.equal(checkHostname('[192.0.2.1]'), '[192.0.2.1]');
  });

  it('accepts http(s) unsubscribe URLs only, normalised so they cannot break out of <...>', () => {
    assert.equal(checkUnsubscribeUrl('https://example.net/u/a b>'), 'https://example.net/u/a%20b%3E');
    assert.equal(checkUnsubscribeUrl('https://example.net/u/\r\nBcc: x'), 'https://example.net/u/Bcc:%20x');
    assert.throws(() => checkUnsubscribeUrl('mailto:x@example.net'), TypeError);
    assert.throws(() => checkUnsubscribeUrl('not a url'), TypeError);
  });
});

describe('assembleMessage', () => {
  it('ends the header block with an empty line and every line with CRLF', () => {
    const raw = assembleMessage(['From: a@b.example', 'Subject: x'], 'line one\nline two');
    assert.equal(raw.toString(), 'From: a@b.example\r\nSubject: x\r\n\r\nline one\r\nline two\r\n');
    assert.equal(readMessage(raw).text, 'line one\nline two\n');
  });

  it('refuses a line over 998 octets', () => {
    assert.throws(() => assembleMessage([`X-Long: ${'a'.repeat(1000)}`], 'x\n'), RangeError);
  });
});
