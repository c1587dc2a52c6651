// The example in README.md, kept compiling and passing (edit both together).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin, verdict } from '@smarthold/core';
import { z } from 'zod';
import { assertResult, assertTraced, assertVerdict, fakeScanner, runTransaction } from './index.js';

// --- the plugin (src/index.ts in a plugin package) ---
const noSpamToVips = definePlugin({
  name: 'no-spam-to-vips',
  version: '1.0.0',
  core: '^1',
  requires: ['spam-scanner'],
  config: z.strictObject({ vips: z.array(z.string()).default([]) }),
  setup(ctx) {
    const scanner = ctx.service('spam-scanner');
    ctx.hook('rcpt', (_tx, rcpt) =>
      Promise.resolve(
        rcpt.endsWith('@blocked.example')
          ? verdict.reject('no such user', { code: 550, enhanced: '5.1.1' })
          : verdict.next(),
      ),
    );
    ctx.hook('data', async (tx) => {
      const v = await scanner.scan(tx, { from: tx.from, to: tx.to });
      tx.results.set('score', v.score);
      if (!v.isSpam) return verdict.next();
      const vips = tx.to.filter((r) => ctx.config.vips.includes(r));
      return verdict.recipients(
        Object.fromEntries(vips.map((r) => [r, { kind: 'hold', reason: 'spam to a VIP' } as const])),
      );
    });
  },
});

// --- its test (src/index.test.ts) ---
test('spam to a VIP is held, other recipients still get it', async () => {
  const spam = fakeScanner({ verdict: 'spam' });
  const r = await runTransaction([spam.plugin, noSpamToVips], {
    from: 'sender@example.org',
    to: ['ceo@example.net', 'staff@example.net', 'x@blocked.example'],
    message: 'Subject: win\r\n\r\nbuy now\r\n',
    config: { plugin: { 'no-spam-to-vips': { vips: ['ceo@example.net'] } } },
  });
  assertVerdict(r, 'rcpt', 'reject', { recipient: 'x@blocked.example' });
  assertVerdict(r, 'data', 'recipients');
  assert.deepEqual(r.outcomes['ceo@example.net'], { kind: 'hold', reason: 'spam to a VIP' });
  assert.deepEqual(r.outcomes['staff@example.net'], { kind: 'deliver' });
  assertResult(r, 'no-spam-to-vips', 'score', 10);
  assertTraced(r, 'no-spam-to-vips', 'data');
  assert.equal(spam.calls.scan, 1);
});
