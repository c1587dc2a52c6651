/**
 * order.test.ts — where the quarantine runs among other plugins.
 *
 * Checks the one ordering promise the quarantine's manifest makes: a plugin
 * that provides `virus-scanner` (clamav) sets up, and so runs its data hook,
 * before the quarantine, even when listed after it in `plugins`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderPlugins } from '@smarthold/core';
import quarantine from './index.js';

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
