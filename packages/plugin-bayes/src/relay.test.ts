/**
 * relay.test.ts — smarthold + the bayes plugin + a test consumer that scans
 * every message at DATA.
 *
 * Checks: a scanned message is relayed byte for byte as a message relayed
 * without any plugin; GTUBE is held, a normal message delivered. Needs no
 * external service.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  definePlugin,
  queueIdOf,
  startTestSmarthold,
  verdict,
  type PluginManifest,
  type TestSmarthold,
} from '@smarthold/core';
import bayes from './index.js';
import { GTUBE } from './rules.js';

/** The consumer: scans every message at DATA, records the verdict, holds spam. */
const scanAll = definePlugin({
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

const plugins: readonly PluginManifest[] = [bayes, scanAll];

const withScanner = (section: Record<string, unknown>): Promise<TestSmarthold> =>
  startTestSmarthold({
    config: { plugins: ['bayes', 'scan-all'], plugin: { bayes: section } },
    plugins,
  });

/** A normal message, with a dot-stuffed line and a folded header. */
function cleanMessage(tag: string): Buffer {
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

function gtubeMessage(): Buffer {
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
function withoutOurReceived(raw: Buffer): Buffer {
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

async function relayOnce(t: TestSmarthold, raw: Buffer): Promise<{ id: string; relayed: Buffer }> {
  const reply = await t.send('alice@example.com', ['bob@example.org'], raw);
  assert.equal(reply.code, 250, reply.text);
  const id = queueIdOf(reply);
  assert.ok(id, reply.text);
  await t.waitForState(id, ['delivered'], 30_000);
  const got = t.sink?.messages.find((m) => m.raw.includes(`id ${id}`));
  assert.ok(got, 'the sink got the message');
  return { id, relayed: got.raw };
}

async function verdictOf(t: TestSmarthold, id: string): Promise<Record<string, unknown>> {
  const m = await t.app.store.get(id);
  const r = m?.results.find((x) => x.plugin === 'scan-all' && x.key === 'verdict');
  assert.ok(r, `results of ${id}: ${JSON.stringify(m?.results)}`);
  return r.value as Record<string, unknown>;
}

const realSection = {};

test('relay with bayes: a scanned message is relayed byte-identical to one relayed without scanning', async () => {
  const [scanned, plain] = await Promise.all([withScanner(realSection), startTestSmarthold()]);
  try {
    const raw = cleanMessage('identical');
    const a = await relayOnce(scanned, raw);
    const b = await relayOnce(plain, raw);
    const v = await verdictOf(scanned, a.id);
    assert.equal(v['scanner'], 'bayes');
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
});

test('relay with bayes: GTUBE is held, not delivered', async () => {
  const t = await withScanner(realSection);
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
});
