/**
 * protocol.test.ts — SPAMC/1.5 request heads and reply parsing, byte-exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseReply,
  parseReport,
  parseSpamHeader,
  parseSymbols,
  parseTell,
  replyComplete,
  requestHead,
  SpamdProtocolError,
} from './protocol.js';

/** A REPORT body as spamd 4.0.1 sends it (captured from the offline test instance). */
const REPORT_BODY = [
  'Spam detection software, running on the system "vm",',
  'has identified this incoming email as possible spam.',
  '',
  'Content analysis details:   (1002.7 points, 5.0 required)',
  '',
  ' pts rule name              description',
  '---- ---------------------- --------------------------------------------------',
  ' 2.7 MISSING_DATE           Missing Date: header',
  '-0.0 NO_RECEIVED            Informational: message has no Received headers',
  '1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email',
  ' 0.0 URIBL_BLOCKED          ADMINISTRATOR NOTICE: The query to URIBL was',
  '                            blocked.  See',
  '                            2 more lines [URIs: example.com]',
  ' 0.0 TVD_SPACE_RATIO',
  '',
  '',
].join('\r\n');

test('request heads: method, SPAMC/1.5, headers, empty line', () => {
  assert.equal(
    requestHead('REPORT', { 'Content-length': 42, User: 'smarthold' }).toString(),
    'REPORT SPAMC/1.5\r\nContent-length: 42\r\nUser: smarthold\r\n\r\n',
  );
  assert.equal(
    requestHead('TELL', { 'Message-class': 'spam', Set: 'local', 'Content-length': 3 }).toString(),
    'TELL SPAMC/1.5\r\nMessage-class: spam\r\nSet: local\r\nContent-length: 3\r\n\r\n',
  );
  assert.equal(requestHead('PING').toString(), 'PING SPAMC/1.5\r\n\r\n');
});

test('request heads refuse CR/LF in a value (header injection)', () => {
  assert.throws(() => requestHead('SYMBOLS', { User: 'a\r\nSet: local' }), SpamdProtocolError);
});

test('REPORT reply: status, Spam header, body cut to Content-length', () => {
  const raw = Buffer.from(
    `SPAMD/1.1 0 EX_OK\r\nContent-length: ${Buffer.byteLength(REPORT_BODY)}\r\nSpam: True ; 1002.7 / 5.0\r\n\r\n${REPORT_BODY}`,
  );
  assert.equal(replyComplete(raw), true);
  assert.equal(replyComplete(raw.subarray(0, raw.length - 1)), false);
  const reply = parseReply(raw);
  assert.equal(reply.code, 0);
  assert.equal(reply.text, 'EX_OK');
  assert.deepEqual(parseSpamHeader(reply.headers.get('spam')), { isSpam: true, score: 1002.7, required: 5 });
  assert.equal(reply.body, REPORT_BODY);
});

test('report table: scores, names, descriptions, wrapped lines joined', () => {
  assert.deepEqual(parseReport(REPORT_BODY), [
    { name: 'MISSING_DATE', score: 2.7, description: 'Missing Date: header' },
    { name: 'NO_RECEIVED', score: -0, description: 'Informational: message has no Received headers' },
    { name: 'GTUBE', score: 1000, description: 'BODY: Generic Test for Unsolicited Bulk Email' },
    {
      name: 'URIBL_BLOCKED',
      score: 0,
      description:
        'ADMINISTRATOR NOTICE: The query to URIBL was blocked.  See 2 more lines [URIs: example.com]',
    },
    { name: 'TVD_SPACE_RATIO', score: 0 },
  ]);
  assert.deepEqual(parseReport('a report template without the summary table\r\n'), []);
});

test('Spam header: True/False and the SPAMD/1.0 Yes/No, negative scores', () => {
  assert.deepEqual(parseSpamHeader('False ; -1.9 / 5.0'), { isSpam: false, score: -1.9, required: 5 });
  assert.deepEqual(parseSpamHeader('Yes ; 7 / 6'), { isSpam: true, score: 7, required: 6 });
  assert.throws(() => parseSpamHeader(undefined), SpamdProtocolError);
  assert.throws(() => parseSpamHeader('maybe'), SpamdProtocolError);
});

test('SYMBOLS body: names only', () => {
  assert.deepEqual(parseSymbols('GTUBE,MISSING_DATE,NO_RECEIVED\r\n'), [
    { name: 'GTUBE', score: 0 },
    { name: 'MISSING_DATE', score: 0 },
    { name: 'NO_RECEIVED', score: 0 },
  ]);
  assert.deepEqual(parseSymbols(''), []);
});

test('PING reply without headers; error replies; garbage', () => {
  const pong = parseReply(Buffer.from('SPAMD/1.5 0 PONG\r\n'));
  assert.equal(pong.text, 'PONG');
  const err = parseReply(
    Buffer.from('SPAMD/1.0 76 Bad header line: (Content-length contains non-numeric bytes)\r\n'),
  );
  assert.equal(err.code, 76);
  assert.throws(() => parseReply(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')), /not a spamd reply/);
  assert.throws(
    () => parseReply(Buffer.from('SPAMD/1.1 0 EX_OK\r\nContent-length: 10\r\n\r\nabc')),
    /cut short/,
  );
});

test('TELL reply: DidSet / DidRemove', () => {
  const reply = parseReply(Buffer.from('SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n'));
  assert.deepEqual(parseTell(reply), { didSet: ['local'], didRemove: [] });
  assert.deepEqual(parseTell(parseReply(Buffer.from('SPAMD/1.1 0 EX_OK\r\n\r\n'))), {
    didSet: [],
    didRemove: [],
  });
});
