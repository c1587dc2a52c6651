// The assertions pass on what happened and fail with a message that shows it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin, verdict } from '@smarthold/core';
import { assertResult, assertTraced, assertVerdict, verdictKind } from './assert.js';
import { runTransaction } from './transaction.js';

const plugin = definePlugin({
  name: 'tagger',
  version: '1.0.0',
  core: '^1',
  setup(ctx) {
    ctx.hook('rcpt', (tx, rcpt) => {
      tx.results.set('ok', rcpt !== 'no@example.net', { recipient: rcpt });
      return Promise.resolve(rcpt === 'no@example.net' ? verdict.reject() : verdict.next());
    });
    ctx.hook('data', (tx) => {
      tx.results.set('tags', ['a', 'b']);
      return Promise.resolve(verdict.recipients({ 'held@example.net': { kind: 'hold', reason: 'r' } }));
    });
  },
});

test('assertVerdict, assertResult and assertTraced pass on what happened', async () => {
  const r = await runTransaction([plugin], {
    from: 'a@example.org',
    to: ['b@example.net', 'no@example.net', 'held@example.net'],
    message: 'Subject: x\r\n\r\nx\r\n',
  });
  assertVerdict(r, 'connect', 'continue');
  assertVerdict(r, 'rcpt', 'reject', { recipient: 'no@example.net' });
  assertVerdict(r, 'rcpt', 'continue', { recipient: 'b@example.net' });
  assertVerdict(r, 'data', 'recipients');
  assertResult(r, 'tagger', 'tags', ['a', 'b']);
  assertResult(r, 'tagger', 'ok', false, { recipient: 'no@example.net' });
  assert.equal(assertTraced(r, 'tagger', 'rcpt').length, 3);
  assert.throws(() => verdictKind(r, 'rcpt'), /several recipients/);
  const one = await runTransaction([plugin], {
    from: 'a@example.org',
    to: ['held@example.net'],
    message: 'Subject: x\r\n\r\nx\r\n',
  });
  assertVerdict(one, 'rcpt', 'continue');
  assertVerdict(one, 'data', 'hold');
});

test('they fail with the transaction in the message', async () => {
  const r = await runTransaction([plugin], {
    from: 'a@example.org',
    to: ['no@example.net'],
    message: 'Subject: x\r\n\r\nx\r\n',
  });
  assert.throws(
    () => {
      assertVerdict(r, 'data', 'deliver');
    },
    (err: Error) =>
      err instanceof assert.AssertionError &&
      /expected verdict "deliver" at data, got "not-reached"/.test(err.message) &&
      /rcpt no@example.net: reject → 550 5\.7\.1 Message rejected/.test(err.message),
  );
  assert.throws(() => {
    assertResult(r, 'tagger', 'ok', true, { recipient: 'no@example.net' });
  }, /result tagger\.ok <no@example\.net> is false, expected true/);
  assert.throws(() => {
    assertResult(r, 'tagger', 'tags', []);
  }, /no result tagger\.tags\n[\s\S]*tagger\.ok <no@example\.net> = false/);
  assert.throws(() => {
    assertTraced(r, 'tagger', 'data');
  }, /hook tagger\/data did not run\n[\s\S]*tagger\/rcpt <no@example\.net>: reject/);
});
