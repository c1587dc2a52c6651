/**
 * order.test.ts — where the quarantine runs among other plugins.
 *
 * Checks the one ordering promise the quarantine's manifest makes: a plugin
 * that provides `virus-scanner` (clamav) sets up, and so runs its data hook,
 * before the quarantine, even when listed after it in `plugins`; and, over
 * real SMTP with a stand-in virus scanner, that infected spam is refused
 * before the quarantine scans it, holds it or writes about it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin, GTUBE, orderPlugins, verdict } from '@smarthold/core';
import quarantine from './index.js';
import { FILTERED, message, OUR_SENDER, settle, startRig } from './test-setup.js';

const node = (name: string, provides: string[], requires: string[] = [], optional: string[] = []) => ({
  name,
  provides,
  requires,
  optional,
});

test('a virus scanner listed after the quarantine still runs before it', () => {
  const nodes = [
    node('sender-auth', ['sender-auth']),
    node('bayes', ['spam-scanner']),
    node(
      quarantine.name,
      [...(quarantine.provides ?? [])],
      [...(quarantine.requires ?? [])],
      [...(quarantine.optional ?? [])],
    ),
    node('clamav', ['virus-scanner']),
  ];
  assert.deepEqual(
    orderPlugins(nodes).map((n) => n.name),
    ['sender-auth', 'bayes', 'clamav', 'quarantine'],
  );
  // Without a virus scanner nothing changes.
  assert.deepEqual(
    orderPlugins(nodes.slice(0, 3)).map((n) => n.name),
    ['sender-auth', 'bayes', 'quarantine'],
  );
});

test('over SMTP: a virus scanner listed after the quarantine refuses infected spam before the quarantine scans, holds or writes', async () => {
  // A stand-in for the clamav plugin: provides virus-scanner, refuses mail carrying a marker.
  const virusScanner = definePlugin({
    name: 'stub-virus',
    version: '1.0.0',
    core: '^1',
    provides: ['virus-scanner'],
    setup(ctx) {
      ctx.provide('virus-scanner', {});
      ctx.hook('data', async (tx) => {
        for await (const chunk of tx.openMessage()) {
          if ((chunk as Buffer).includes('STUB-VIRUS-MARKER')) {
            return verdict.reject('Message rejected: virus found (Stub.Marker)', {
              code: 554,
              enhanced: '5.7.1',
            });
          }
        }
        return verdict.next();
      });
    },
  });
  const rig = await startRig('sqlite', { extraPlugins: [virusScanner] });
  try {
    // Spam from our sender to a filtered recipient: the quarantine would hold it and answer 552 with a URL.
    const reply = await rig.send(
      OUR_SENDER,
      [FILTERED],
      message({ body: `This is a test of the quarantine.\r\n${GTUBE}\r\nSTUB-VIRUS-MARKER\r\n` }),
    );
    assert.equal(reply.code, 554, reply.text);
    assert.match(reply.text, /5\.7\.1 Message rejected: virus found/);
    assert.equal(rig.scans(), 0, 'the quarantine never scanned it');
    assert.deepEqual(await rig.service.list({}), []);
    assert.deepEqual(await settle(rig), [], 'no letter to anyone');
  } finally {
    await rig.stop();
  }
});
