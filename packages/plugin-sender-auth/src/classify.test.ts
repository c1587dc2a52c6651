/**
 * classify.test.ts — the ours / not-ours rule and "ok to bounce".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifySender } from './classify.js';
import type { Origin } from './origin.js';
import type { SpfOutcome, SpfResult } from './spf.js';

const external: Origin = { kind: 'external', ip: '203.0.113.5', helo: 'h.example', line: 1, steps: [] };
const internal: Origin = { kind: 'internal', ip: '198.51.100.20', steps: [] };
const unparseable: Origin = { kind: 'unparseable', line: 0, text: 'x', reason: 'r', steps: [] };
const spf = (result: SpfResult): SpfOutcome => ({
  result,
  identity: 'mailfrom',
  sender: 'a@b.example',
  source: 'checked',
});

function run(origin: Origin, result: SpfResult, ourDomain?: string, notify = false, sender = 'a@b.example') {
  const c = classifySender({ sender, origin, spf: spf(result), ourDomain, notifyExternalSenders: notify });
  return { ours: c.ours, reason: c.reason, okToBounce: c.okToBounce };
}

describe('classifySender', () => {
  test('SPF pass is ours, wherever it came from', () => {
    assert.deepEqual(run(external, 'pass'), { ours: true, reason: 'spf-pass', okToBounce: true });
  });
  test('SPF fail is never ours, not even from our network or domain', () => {
    assert.deepEqual(run(internal, 'fail', 'b.example'), {
      ours: false,
      reason: 'spf-fail',
      okToBounce: false,
    });
    assert.deepEqual(run(external, 'fail', undefined, true), {
      ours: false,
      reason: 'spf-fail',
      okToBounce: false,
    });
  });
  test('our network counts when SPF does not fail', () => {
    for (const r of ['softfail', 'neutral', 'none', 'temperror', 'permerror'] as const) {
      assert.deepEqual(run(internal, r), { ours: true, reason: 'our-network', okToBounce: true }, r);
    }
  });
  test('our domain counts when SPF does not fail', () => {
    assert.deepEqual(run(external, 'softfail', 'b.example'), {
      ours: true,
      reason: 'our-domain',
      okToBounce: true,
    });
    assert.deepEqual(run(unparseable, 'none', 'b.example'), {
      ours: true,
      reason: 'our-domain',
      okToBounce: true,
    });
  });
  test('anything else is not ours', () => {
    assert.deepEqual(run(external, 'softfail'), { ours: false, reason: 'no-pass', okToBounce: false });
    assert.deepEqual(run(external, 'none'), { ours: false, reason: 'no-pass', okToBounce: false });
    assert.deepEqual(run(unparseable, 'none'), { ours: false, reason: 'origin-unknown', okToBounce: false });
  });
  test('notify_external_senders makes a non-failing outsider fit to be told, not ours', () => {
    assert.deepEqual(run(external, 'neutral', undefined, true), {
      ours: false,
      reason: 'no-pass',
      okToBounce: true,
    });
  });
  test('never bounce to the null sender', () => {
    assert.deepEqual(run(external, 'pass', undefined, true, ''), {
      ours: true,
      reason: 'spf-pass',
      okToBounce: false,
    });
  });
  test('the classification carries origin, SPF and the domain entry', () => {
    const c = classifySender({
      sender: 'a@x.b.example',
      origin: external,
      spf: spf('none'),
      ourDomain: 'b.example',
      notifyExternalSenders: false,
    });
    assert.equal(c.ourDomain, 'b.example');
    assert.equal(c.origin, external);
    assert.deepEqual(JSON.parse(JSON.stringify(c)), c);
  });
});
