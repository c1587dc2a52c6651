/**
 * mime/mime.test.ts — decoding: quoted-printable, base64, charsets,
 * encoded-words, HTML to text, multipart walking and lenient failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Yielder } from '../yield.js';
import { decodeCharset, decodeQuotedPrintable, hasHighBit } from './decode.js';
import { decodeWords, parseParamValue } from './headers.js';
import { decodeEntities, htmlToText } from './html.js';
import { readMessage } from './message.js';

const read = (text: string): ReturnType<typeof readMessage> =>
  readMessage(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'), new Yielder());

describe('transfer encodings and charsets', () => {
  it('decodes quoted-printable with soft breaks', () => {
    assert.equal(
      decodeQuotedPrintable(Buffer.from('caf=C3=A9 au =\r\nlait=3D1 = end')).toString('utf8'),
      'café au lait=1 = end',
    );
  });

  it('decodes a quoted-printable latin-1 part', async () => {
    const m = await read(
      'Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCr=E8me br=FBl=E9e, s=\nvp\n',
    );
    assert.match(m.texts[0] ?? '', /Crème brûlée, svp/);
  });

  it('decodes a base64 utf-8 part', async () => {
    const body = Buffer.from('Grüße aus Köln').toString('base64');
    const m = await read(
      `Content-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: base64\n\n${body}\n`,
    );
    assert.equal(m.texts[0]?.trim(), 'Grüße aus Köln');
  });

  it('reads undeclared 8-bit text as UTF-8, else Windows-1252', () => {
    assert.equal(decodeCharset(Buffer.from('é', 'utf8'), undefined), 'é');
    assert.equal(decodeCharset(Buffer.from([0x93, 0x68, 0x69, 0x94]), undefined), '“hi”');
    assert.equal(decodeCharset(Buffer.from([0xc7, 0xd1]), 'ks_c_5601-1987'), '한');
  });

  it('decodes RFC 2047 encoded-words and joins adjacent ones', () => {
    assert.equal(decodeWords('=?utf-8?B?w6l0w6k=?= =?ISO-8859-1?Q?_=E0_Paris?='), 'été à Paris');
    assert.equal(decodeWords('plain subject'), 'plain subject');
  });

  it('reads parameters, quoted or not, and RFC 2231 continuations', () => {
    const ct = parseParamValue('Multipart/Mixed; boundary="a b;c"; charset=utf-8');
    assert.equal(ct.value, 'multipart/mixed');
    assert.equal(ct.params.get('boundary'), 'a b;c');
    const cd = parseParamValue("attachment; filename*0*=utf-8''r%C3%A9sum; filename*1=.pdf");
    assert.equal(cd.params.get('filename'), 'résum.pdf');
  });

  it('finds a byte above 0x7F as a loop over the bytes does, in views at any offset', () => {
    let seed = 1;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const plain = (bytes: Uint8Array): boolean => bytes.some((b) => b > 0x7f);
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.alloc(Math.floor(next() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 0x80);
      // Now and then one high byte, anywhere (first, last, or between).
      if (bytes.length > 0 && next() < 0.5)
        bytes[Math.floor(next() * bytes.length)] = 0x80 + Math.floor(next() * 0x80);
      const start = Math.floor(next() * (bytes.length + 1));
      const end = start + Math.floor(next() * (bytes.length - start + 1));
      const view = bytes.subarray(start, end);
      assert.equal(hasHighBit(view), plain(view));
      assert.equal(hasHighBit(new Uint8Array(view)), plain(view));
    }
  });
});

describe('HTML', () => {
  it('keeps visible text and links, drops scripts, styles and comments', async () => {
    const h = await htmlToText(
      '<html><head><style>p{}</style><title>T</title></head><body><p>V<!-- x -->iagra &amp; <b>more</b></p><script>bad()</script><a href="http://a.example/x">go</a></body></html>',
      new Yielder(),
    );
    assert.match(h.text, /Viagra & more/);
    assert.doesNotMatch(h.text, /bad\(\)|p\{\}/);
    assert.deepEqual(h.links, ['http://a.example/x']);
  });

  it('decodes numeric and named references', () => {
    assert.equal(decodeEntities('&#72;&#x69; &eacute;&nbsp;&unknown;'), 'Hi é &unknown;');
  });

  it('converts a text/html part and a text/plain part that is really HTML', async () => {
    const m = await read(
      'Content-Type: multipart/alternative; boundary=zz\n\n--zz\nContent-Type: text/html\n\n<p>Hello <i>world</i></p>\n--zz\nContent-Type: text/plain\n\n<html><body>Second</body></html>\n--zz--\n',
    );
    assert.match(m.texts[0] ?? '', /Hello world/);
    assert.match(m.texts[1] ?? '', /Second/);
    assert.doesNotMatch(m.texts.join(''), /<p>|<html>/);
  });
});

describe('structure', () => {
  it('walks nested multiparts and lists attachments without decoding them', async () => {
    const m = await read(
      'Subject: s\nContent-Type: multipart/mixed; boundary=outer\n\npreamble\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain\n\nplain text\n--inner--\n--outer\nContent-Type: application/pdf; name="bill.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--outer--\nepilogue\n',
    );
    assert.deepEqual(
      m.texts.map((t) => t.trim()),
      ['plain text'],
    );
    assert.deepEqual(
      m.parts.map((p) => p.type),
      ['text/plain', 'application/pdf'],
    );
    assert.equal(m.parts[1]?.filename, 'bill.pdf');
    assert.equal(m.malformed, false);
  });

  it('reads a multipart without a boundary as plain text, marked malformed', async () => {
    const m = await read('Content-Type: multipart/mixed\n\nsome text anyway\n');
    assert.equal(m.malformed, true);
    assert.match(m.texts[0] ?? '', /some text anyway/);
  });

  it('skips an mbox From line and unfolds headers', async () => {
    const m = await read(
      'From someone@example.com  Thu Aug 22 12:36:23 2002\nSubject: a\n  folded\n\nbody\n',
    );
    assert.equal(m.fields.find((f) => f.name === 'subject')?.value, 'a folded');
  });
});
