/**
 * limiter.test.ts — fixed windows, expiry and the bound on keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultLimits, RateLimiter } from './limiter.js';

test('allows max per window, then refuses until the window ends', () => {
  let now = 1000;
  const l = new RateLimiter({ max: 2, windowMs: 100, maxKeys: 10, now: () => now });
  assert.equal(l.take('a'), true);
  assert.equal(l.take('a'), true);
  assert.equal(l.take('a'), false);
  assert.equal(l.take('b'), true, 'keys are counted apart');
  now += 99;
  assert.equal(l.take('a'), false);
  now += 1;
  assert.equal(l.take('a'), true, 'a new window');
});

test('the number of keys stays bounded: expired ones go first, then the oldest', () => {
  let now = 0;
  const l = new RateLimiter({ max: 1, windowMs: 100, maxKeys: 3, now: () => now });
  l.take('a');
  now = 50;
  l.take('b');
  l.take('c');
  assert.equal(l.size, 3);
  now = 120; // a has expired
  assert.equal(l.take('d'), true);
  assert.equal(l.size, 3);
  assert.equal(l.take('b'), false, 'b was kept');
  assert.equal(l.take('e'), true); // full of live windows: the oldest (b) goes
  assert.equal(l.size, 3);
  assert.equal(l.take('c'), false, 'c was kept');
  assert.equal(l.take('b'), true, 'b was dropped, so it starts afresh');
  assert.equal(l.size, 3);
});

test('default limits: one mail per address and ten requests per client per ten minutes', () => {
  let now = 0;
  const d = defaultLimits(() => now);
  assert.equal(d.perAddress.take('x@example.org'), true);
  assert.equal(d.perAddress.take('x@example.org'), false);
  for (let i = 0; i < 10; i++) assert.equal(d.perClient.take('192.0.2.1'), true);
  assert.equal(d.perClient.take('192.0.2.1'), false);
  now = 10 * 60_000;
  assert.equal(d.perAddress.take('x@example.org'), true);
  assert.equal(d.perClient.take('192.0.2.1'), true);
});
