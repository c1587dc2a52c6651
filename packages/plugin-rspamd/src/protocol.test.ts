/**
 * protocol.test.ts — envelope headers, /checkv2 parsing, verdicts and learn replies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkVerdict,
  envelopeHeaders,
  headerValue,
  parseCheck,
  parseLearn,
  RspamdProtocolError,
} from './protocol.js';

/** GTUBE as rspamd 3.4 answers it (captured from the offline test instance). */
const GTUBE_REPLY =
  '{"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject","symbols":{"GTUBE":{"name":"GTUBE","score":0.0,"metric_score":0.0}},"messages":{"smtp_message":"Gtube pattern"},"message-id":"x1@example.com","time_real":0.059930}';
const HAM_REPLY =
  '{"is_skipped":false,"score":0.9,"required_score":15.0,"action":"no action","symbols":{"MIME_GOOD":{"name":"MIME_GOOD","score":-0.1,"metric_score":-0.1,"description":"Known content-type","options":["text/plain"]},"DATE_IN_PAST":{"name":"DATE_IN_PAST","score":1.0,"metric_score":1.0,"description":"Message date is in past"},"FROM_NO_DN":{"name":"FROM_NO_DN","score":0.0,"metric_score":0.0}},"messages":{},"milter":{"add_headers":{"X-Spam":"Yes"},"remove_headers":{"X-Spam":0}}}';
const opts = {
  scanner: 'rspamd',
  spamActions: ['reject', 'add header', 'rewrite subject'],
  threshold: undefined,
  durationMs: 2,
};

test('envelope headers: From, one Rcpt per recipient, origin IP first, Helo, Queue-Id, User', () => {
  assert.deepEqual(
    envelopeHeaders(
      {
        from: 'a@example.com',
        to: ['b@example.org', 'c@example.org'],
        clientIp: '192.0.2.1',
        originIp: '198.51.100.7',
        helo: 'mx.example.com',
        queueId: 'Q1',
        user: 'alice',
      },
      'outbound',
    ),
    {
      From: 'a@example.com',
      Rcpt: ['b@example.org', 'c@example.org'],
      IP: '198.51.100.7',
      Helo: 'mx.example.com',
      'Queue-Id': 'Q1',
      User: 'alice',
      'Settings-ID': 'outbound',
    },
  );
  assert.deepEqual(envelopeHeaders({ from: '', clientIp: '192.0.2.1' }), { From: '<>', IP: '192.0.2.1' });
  assert.deepEqual(envelopeHeaders(undefined), {});
});

test('header values: no CR/LF injection; UTF-8 sent as raw octets', () => {
  assert.equal(headerValue('a@example.com\r\nPassword: x'), 'a@example.comPassword: x');
  assert.equal(Buffer.from(headerValue('dörte@example.com'), 'latin1').toString('utf8'), 'dörte@example.com');
});

test('GTUBE: action reject is spam, whatever the symbol scores', () => {
  const v = checkVerdict(parseCheck(GTUBE_REPLY), opts);
  assert.equal(v.isSpam, true);
  assert.equal(v.score, 15);
  assert.equal(v.threshold, 15);
  assert.deepEqual(v.rules, [{ name: 'GTUBE', score: 0 }]);
});

test('ham: no action, symbols sorted by score with descriptions, milter block ignored', () => {
  const v = checkVerdict(parseCheck(HAM_REPLY), opts);
  assert.equal(v.isSpam, false);
  assert.deepEqual(v.rules, [
    { name: 'DATE_IN_PAST', score: 1, description: 'Message date is in past' },
    { name: 'FROM_NO_DN', score: 0 },
    { name: 'MIME_GOOD', score: -0.1, description: 'Known content-type' },
  ]);
  assert.deepEqual(Object.keys(v).sort(), ['durationMs', 'isSpam', 'rules', 'scanner', 'score', 'threshold']);
});

test('threshold override and spam_actions', () => {
  const r = parseCheck(HAM_REPLY);
  assert.equal(checkVerdict(r, { ...opts, threshold: 0.5 }).isSpam, true);
  assert.equal(checkVerdict(r, { ...opts, threshold: 0.5 }).threshold, 0.5);
  const header = parseCheck('{"score":7,"required_score":15,"action":"add header"}');
  assert.equal(checkVerdict(header, opts).isSpam, true);
  assert.equal(checkVerdict(header, { ...opts, spamActions: ['reject'] }).isSpam, false);
  assert.equal(checkVerdict(parseCheck('{"score":1,"action":"soft reject"}'), opts).isSpam, false);
});

test('bad replies are protocol errors', () => {
  assert.throws(() => parseCheck('<html>'), RspamdProtocolError);
  assert.throws(() => parseCheck('{"score":"high"}'), /unexpected reply/);
});

test('learn replies: 200 success, 208 already learned, errors', () => {
  assert.deepEqual(parseLearn(200, '{"success":true}'), { learned: true, detail: 'learned' });
  assert.deepEqual(parseLearn(208, '{"error":"<x@y> has been already learned as ham, ignore it"}'), {
    learned: false,
    detail: '<x@y> has been already learned as ham, ignore it',
  });
  assert.throws(() => parseLearn(403, '{"error":"Unauthorized"}'), /HTTP 403: Unauthorized/);
  assert.throws(() => parseLearn(200, '{"success":false}'), RspamdProtocolError);
});
