/**
 * integration.test.ts — against the real rspamd started by scripts/services/rspamd.sh.
 *
 * Reads SMARTHOLD_TEST_RSPAMD (default http://127.0.0.1:17833),
 * SMARTHOLD_TEST_RSPAMD_CONTROLLER (default http://127.0.0.1:17834) and
 * SMARTHOLD_TEST_RSPAMD_PASSWORD (default smarthold-test). Skips when rspamd
 * is not reachable, fails instead under SMARTHOLD_TEST_REQUIRE=all|rspamd.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { needService, tcpReachable } from '@smarthold/core';
import { configSchema } from './config.js';
import { createRspamdScanner } from './scanner.js';
import { GTUBE, memMessage } from './test-fake-rspamd.js';

const url = process.env['SMARTHOLD_TEST_RSPAMD'] ?? 'http://127.0.0.1:17833';
const controller = process.env['SMARTHOLD_TEST_RSPAMD_CONTROLLER'] ?? 'http://127.0.0.1:17834';
const password = process.env['SMARTHOLD_TEST_RSPAMD_PASSWORD'] ?? 'smarthold-test';
const reachable = async (u: string): Promise<boolean> => {
  const { hostname, port } = new URL(u);
  return tcpReachable(hostname.replace(/^\[|\]$/g, ''), Number(port || 80));
};
const skip = await needService('rspamd', async () => (await reachable(url)) && (await reachable(controller)));

const scanner = createRspamdScanner(
  configSchema.parse({ url, controller_url: controller, password, timeout: '20s' }),
);
test.after(() => {
  scanner.close();
});

function message(body: string, subject = 'Quarterly planning notes'): Buffer {
  return Buffer.from(
    [
      'Received: from mail.example.com (mail.example.com [192.0.2.10]) by mx.example.org with ESMTP id 4AbCd; Mon, 1 Jan 2024 10:00:00 +0000',
      'From: Alice Example <alice@example.com>',
      'To: Bob Example <bob@example.org>',
      `Subject: ${subject}`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
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
const CONTEXT = {
  from: 'alice@example.com',
  to: ['bob@example.org'],
  clientIp: '192.0.2.10',
  helo: 'mail.example.com',
  queueId: 'ITEST1',
};

test('real rspamd: GTUBE is spam', { skip }, async () => {
  const v = await scanner.scan(memMessage(message(`Hello\r\n${GTUBE}`)), CONTEXT);
  assert.equal(v.isSpam, true);
  assert.ok(v.rules.some((r) => r.name === 'GTUBE'));
  assert.equal(v.failure, undefined);
});

test('real rspamd: an ordinary message is not spam', { skip }, async () => {
  const v = await scanner.scan(memMessage(message(HAM_BODY)), CONTEXT);
  assert.equal(v.isSpam, false, `score ${v.score}: ${v.rules.map((r) => r.name).join(',')}`);
  assert.ok(v.score < v.threshold);
});

test(
  'real rspamd: learn reaches the controller (learnham, learnspam; again → already learned)',
  { skip },
  async () => {
    const ham = memMessage(message(`${HAM_BODY}\r\n\r\nReference ${randomUUID()}`, `Notes ${randomUUID()}`));
    assert.deepEqual(await scanner.learnResult(ham, 'ham'), { learned: true, detail: 'learned' });
    const again = await scanner.learnResult(ham, 'ham');
    assert.equal(again.learned, false);
    assert.match(again.detail, /already learned/);
    const spam = message(
      `Dear friend, you have WON a prize of one million dollars. Click now to claim your free money, ` +
        `cheap pills and casino bonus, limited offer, act now, reply with your bank details. ${randomUUID()}`,
      'You are a WINNER',
    );
    await scanner.learn(memMessage(spam), 'spam');
  },
);

test('real rspamd: a wrong controller password is refused', { skip }, async () => {
  const wrong = createRspamdScanner(
    configSchema.parse({ url, controller_url: controller, password: 'not-the-password' }),
  );
  try {
    await assert.rejects(
      wrong.learn(memMessage(message(`${HAM_BODY} ${randomUUID()}`)), 'ham'),
      /HTTP 40[13]: Unauthorized/,
    );
  } finally {
    wrong.close();
  }
});
