/**
 * spam/config.test.ts — the scanner keys shared by the spamassassin and
 * rspamd plugins: defaults, what is refused, the daemon named in the text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { DEFAULT_SCAN_MAX_SIZE, scanFailurePolicy, scanMaxSize, scanServerLabel } from './config.js';

const section = z.object({ max_size: scanMaxSize(), on_failure: scanFailurePolicy('spamd') }).strict();

test('defaults: 500 KB (spamc -s) and tempfail', () => {
  assert.equal(DEFAULT_SCAN_MAX_SIZE, 512_000);
  assert.deepEqual(section.parse({}), { max_size: 512_000, on_failure: 'tempfail' });
  assert.equal(scanMaxSize(1000).parse(undefined), 1000);
});

test('max_size is a positive whole number of octets', () => {
  assert.equal(section.parse({ max_size: 1 }).max_size, 1);
  for (const bad of [0, -1, 1.5, '500k']) {
    assert.equal(section.safeParse({ max_size: bad }).success, false, String(bad));
  }
});

test('on_failure is tempfail, pass or hold', () => {
  for (const p of ['tempfail', 'pass', 'hold'] as const)
    assert.equal(section.parse({ on_failure: p }).on_failure, p);
  assert.equal(section.safeParse({ on_failure: 'ignore' }).success, false);
});

test('the descriptions are the ones the config reference shows, naming the daemon', () => {
  assert.equal(
    scanMaxSize().description,
    'Messages larger than this (octets) are not sent; the verdict says skipped, not spam.',
  );
  assert.equal(
    scanFailurePolicy('rspamd').description,
    'When rspamd is down or too slow: tempfail (451, default), pass (not spam) or hold (spam).',
  );
});

test('a daemon address as text: host:port, an IPv6 host in brackets, a Unix socket', () => {
  assert.equal(scanServerLabel({ kind: 'tcp', host: '127.0.0.1', port: 783 }), '127.0.0.1:783');
  assert.equal(scanServerLabel({ kind: 'tcp', host: '::1', port: 3310 }), '[::1]:3310');
  assert.equal(
    scanServerLabel({ kind: 'unix', path: '/run/clamav/clamd.ctl' }),
    'unix:/run/clamav/clamd.ctl',
  );
});
