/**
 * integration.test.ts — against the real spamd started by scripts/services/spamd.sh.
 *
 * Reads SMARTHOLD_TEST_SPAMD (default 127.0.0.1:17830). Skips when spamd is
 * not reachable, fails instead under SMARTHOLD_TEST_REQUIRE=all|spamd.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { needService, tcpReachable } from '@smarthold/core';
import { configSchema } from './config.js';
import { createSpamAssassinScanner } from './scanner.js';
import { GTUBE, memMessage } from './test-fake-spamd.js';

const address = process.env['SMARTHOLD_TEST_SPAMD'] ?? '127.0.0.1:17830';
const [host = '127.0.0.1', port = '17830'] = address.split(/:(?=\d+$)/);
const skip = await needService('spamd', () => tcpReachable(host, Number(port)));

const scanner = (mode: 'report' | 'symbols' = 'report') =>
  createSpamAssassinScanner(configSchema.parse({ servers: [{ address }], mode, timeout: '30s' }));

function message(body: string, subject = 'Quarterly planning notes'): Buffer {
  return Buffer.from(
    [
      'Received: from mail.example.com (mail.example.com [192.0.2.10]) by mx.example.org with ESMTP id 4AbCd; Mon, 1 Jan 2024 10:00:00 +0000',
      'From: Alice Example <alice@example.com>',
      'To: Bob Example <bob@example.org>',
      `Subject: ${subject}`,
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      `Message-ID: <${randomUUID()}@example.com>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}

const HAM_BODY =
  'Hi Bob,\r\n\r\nthanks for the meeting today. As agreed, I will send the revised budget for the\r\n' +
  'second quarter by Friday, and Carol will update the project timeline. Please bring\r\n' +
  'your notes on the staffing plan to the next meeting on Tuesday.\r\n\r\nBest regards,\r\nAlice';

test('real spamd: PING answers PONG', { skip }, async () => {
  await scanner().ping();
});

test('real spamd: GTUBE is spam, with the GTUBE rule and its score', { skip }, async () => {
  const v = await scanner().scan(memMessage(message(`Hello\r\n${GTUBE}`)));
  assert.equal(v.isSpam, true);
  assert.ok(v.score >= 1000, `score ${v.score}`);
  assert.equal(v.threshold, 5);
  const gtube = v.rules.find((r) => r.name === 'GTUBE');
  assert.ok(gtube);
  assert.equal(gtube.score, 1000);
  assert.match(gtube.description ?? '', /Generic Test for Unsolicited Bulk Email/);
});

test('real spamd: symbols mode names GTUBE', { skip }, async () => {
  const v = await scanner('symbols').scan(memMessage(message(GTUBE)));
  assert.equal(v.isSpam, true);
  assert.ok(v.rules.some((r) => r.name === 'GTUBE'));
});

test('real spamd: an ordinary message is not spam', { skip }, async () => {
  const v = await scanner().scan(memMessage(message(HAM_BODY)));
  assert.equal(v.isSpam, false, `score ${v.score}: ${v.rules.map((r) => r.name).join(',')}`);
  assert.ok(v.score < 5);
  assert.equal(v.failure, undefined);
});

test('real spamd: learn reaches spamd (TELL → DidSet: local)', { skip }, async () => {
  const sa = scanner();
  const msg = memMessage(message(`${HAM_BODY}\r\n${randomUUID()}`, `Notes ${randomUUID()}`));
  const r = await sa.tell(msg, 'ham');
  assert.deepEqual(r.didSet, ['local']);
  // The same message again: spamd knows it, says nothing was set, and learn() still resolves.
  const again = await sa.tell(msg, 'ham');
  assert.deepEqual(again.didSet, []);
  await sa.learn(memMessage(message(`${GTUBE}\r\n${randomUUID()}`)), 'spam');
});
