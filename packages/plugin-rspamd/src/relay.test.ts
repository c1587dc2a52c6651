/**
 * relay.test.ts — smarthold + the rspamd plugin + a consumer that scans every
 * message at DATA (the shared scanner checks in @smarthold/core), against the
 * real rspamd started by scripts/services/rspamd.sh.
 *
 * Checks: a scanned message is relayed byte for byte as a message relayed
 * without any plugin; GTUBE is held, a normal message delivered.
 *
 * Reads SMARTHOLD_TEST_RSPAMD (default http://127.0.0.1:17833). Skips when
 * rspamd is not reachable, fails instead under SMARTHOLD_TEST_REQUIRE=all|rspamd.
 */
import { test } from 'node:test';
import { checkGtubeIsHeld, checkScannedRelayIsIdentical, needService, tcpReachable } from '@smarthold/core';
import rspamd from './index.js';

const url = process.env['SMARTHOLD_TEST_RSPAMD'] ?? 'http://127.0.0.1:17833';
const skip = await needService('rspamd', () => {
  const { hostname, port } = new URL(url);
  return tcpReachable(hostname.replace(/^\[|\]$/g, ''), Number(port || 80));
});

const scanner = { plugin: rspamd, section: { url, timeout: '20s' } };

test(
  'relay with rspamd: a scanned message is relayed byte-identical to one relayed without scanning',
  { skip },
  () => checkScannedRelayIsIdentical(scanner),
);

test('relay with rspamd: GTUBE is held, not delivered', { skip }, () => checkGtubeIsHeld(scanner));
