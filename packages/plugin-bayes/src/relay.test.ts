/**
 * relay.test.ts — smarthold + the bayes plugin + a consumer that scans every
 * message at DATA (the shared scanner checks in @smarthold/core).
 *
 * Checks: a scanned message is relayed byte for byte as a message relayed
 * without any plugin; GTUBE is held, a normal message delivered. Needs no
 * external service.
 */
import { test } from 'node:test';
import { checkGtubeIsHeld, checkScannedRelayIsIdentical } from '@smarthold/core';
import bayes from './index.js';

const scanner = { plugin: bayes, section: {} };

test('relay with bayes: a scanned message is relayed byte-identical to one relayed without scanning', () =>
  checkScannedRelayIsIdentical(scanner));

test('relay with bayes: GTUBE is held, not delivered', () => checkGtubeIsHeld(scanner));
