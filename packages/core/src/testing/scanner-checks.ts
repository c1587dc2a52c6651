/**
 * testing/scanner-checks.ts — the checks every spam-scanner plugin must pass
 * inside a running smarthold (for scanner plugins' integration tests).
 *
 * A consumer plugin (`scan-all`) scans every message at DATA, records the
 * verdict in the results store and holds spam. The checks: a scanned message
 * is relayed byte for byte as one relayed without any plugin (scanners never
 * change a message), and GTUBE is held, not delivered. They assert with
 * node:assert; they do not register tests.
 */
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { definePlugin, type PluginManifest } from '../plugin/api.js';
import { verdict } from '../plugin/verdict.js';
import { GTUBE } from '../spam/contract.js';
import { startTestSmarthold, type TestSmarthold } from './harness.js';
import { queueIdOf } from './smtp-client.js';

/** Scans every message at DATA, records `scan-all.verdict`, holds spam. */
export const scanAllPlugin = definePlugin({
  name: 'scan-all',
  version: '1.0.0',
  core: '^1',
  requires: ['spam-scanner'],
  setup(ctx) {
    const s = ctx.service('spam-scanner');
    ctx.hook('data', async (tx) => {
      const v = await s.scan(tx, { from: tx.from, to: tx.to, clientIp: tx.session.remoteAddress });
      tx.results.set('verdict', {
        scanner: v.scanner,
        score: v.score,
        threshold: v.threshold,
        isSpam: v.isSpam,
        rules: v.rules.map((r) => r.name),
        failure: v.failure ?? null,
      });
      return v.isSpam ? verdict.hold('spam') : verdict.next();
    });
  },
});

/** A scanner plugin under test and its config section. */
export interface ScannerUnderTest {
  readonly plugin: PluginManifest;
  readonly section: Record<string, unknown>;
  readonly log?: Logger;
}

/** smarthold with the scanner and scan-all. */
export function startWithScanner(s: ScannerUnderTest): Promise<TestSmarthold> {
  return startTestSmarthold({
    config: { plugins: [s.plugin.name, 'scan-all'], plugin: { [s.plugin.name]: s.section } },
    plugins: [s.plugin, scanAllPlugin],
    ...(s.log ? { log: s.log } : {}),
  });
}

/** A normal message, with a folded header and a line that needs dot-stuffing. */
export function cleanMessage(tag: string): Buffer {
  return Buffer.from(
    [
      'Received: from mail.example.com (mail.example.com [192.0.2.10]) by mx.example.org with ESMTP id 4AbCd; Mon, 1 Jan 2024 10:00:00 +0000',
      'From: Alice Example <alice@example.com>',
      'To: Bob Example <bob@example.org>',
      'Subject: Quarterly planning notes',
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      `Message-ID: <relay-${tag}@example.com>`,
      'X-Folded: first part',
      '\tsecond part',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hi Bob,',
      '',
      'thanks for the meeting today. As agreed, I will send the revised budget for the',
      'second quarter by Friday, and Carol will update the project timeline. Please bring',
      'your notes on the staffing plan to the next meeting on Tuesday.',
      '.a line that starts with a dot',
      '',
      'Best regards,',
      'Alice',
      '',
    ].join('\r\n'),
  );
}

/** A message carrying GTUBE. */
export function gtubeMessage(): Buffer {
  return Buffer.from(
    [
      'From: Alice Example <alice@example.com>',
      'To: Bob Example <bob@example.org>',
      'Subject: GTUBE test',
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      'Message-ID: <relay-gtube@example.com>',
      '',
      'This is the GTUBE test string:',
      GTUBE,
      '',
    ].join('\r\n'),
  );
}

/** Drops the first header field (smarthold's own Received line, with its continuation lines). */
export function withoutOurReceived(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  assert.match(
    text,
    /^Received: from .*by smarthold\.test/s,
    'relayed message starts with our Received line',
  );
  const m = /^Received:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/.exec(text);
  assert.ok(m);
  return raw.subarray(Buffer.byteLength(m[0], 'latin1'));
}

/** Sends one message and waits until the sink has it. */
export async function relayOnce(t: TestSmarthold, raw: Buffer): Promise<{ id: string; relayed: Buffer }> {
  const reply = await t.send('alice@example.com', ['bob@example.org'], raw);
  assert.equal(reply.code, 250, reply.text);
  const id = queueIdOf(reply);
  assert.ok(id, reply.text);
  await t.waitForState(id, ['delivered'], 30_000);
  const got = t.sink?.messages.find((m) => m.raw.includes(`id ${id}`));
  assert.ok(got, 'the sink got the message');
  return { id, relayed: got.raw };
}

/** The verdict scan-all recorded for a message. */
export async function verdictOf(t: TestSmarthold, id: string): Promise<Record<string, unknown>> {
  const m = await t.app.store.get(id);
  const r = m?.results.find((x) => x.plugin === 'scan-all' && x.key === 'verdict');
  assert.ok(r, `results of ${id}: ${JSON.stringify(m?.results)}`);
  return r.value as Record<string, unknown>;
}

/** Check: a scanned clean message is relayed byte-identical to an unscanned one, and to what was sent. */
export async function checkScannedRelayIsIdentical(s: ScannerUnderTest): Promise<void> {
  const [scanned, plain] = await Promise.all([startWithScanner(s), startTestSmarthold()]);
  try {
    const raw = cleanMessage('identical');
    const a = await relayOnce(scanned, raw);
    const b = await relayOnce(plain, raw);
    const v = await verdictOf(scanned, a.id);
    assert.equal(v['scanner'], s.plugin.name);
    assert.equal(v['isSpam'], false, JSON.stringify(v));
    assert.equal(v['failure'], null);
    assert.ok(
      withoutOurReceived(a.relayed).equals(withoutOurReceived(b.relayed)),
      'scanned and unscanned relays differ',
    );
    assert.ok(withoutOurReceived(a.relayed).equals(raw), 'relayed bytes differ from the bytes sent');
  } finally {
    await Promise.all([scanned.stop(), plain.stop()]);
  }
}

/** Check: GTUBE is held (recipient state hold), with a GTUBE rule, and nothing reaches the sink. */
export async function checkGtubeIsHeld(s: ScannerUnderTest): Promise<void> {
  const t = await startWithScanner(s);
  try {
    const reply = await t.send('alice@example.com', ['bob@example.org'], gtubeMessage());
    assert.equal(reply.code, 250, reply.text);
    const id = queueIdOf(reply);
    assert.ok(id);
    await t.waitForState(id, ['hold']);
    const v = await verdictOf(t, id);
    assert.equal(v['isSpam'], true);
    assert.ok((v['rules'] as string[]).includes('GTUBE'), JSON.stringify(v));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.sink?.messages.length, 0);
    const m = await t.app.store.get(id);
    assert.deepEqual(
      m?.recipients.map((r) => r.state),
      ['hold'],
    );
  } finally {
    await t.stop();
  }
}
