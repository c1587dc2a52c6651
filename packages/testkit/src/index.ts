/**
 * index.ts — the public API of @smarthold/testkit: what a plugin author needs
 * to test a plugin, from one import.
 *
 * - `runTransaction` / `createTestHost`: the plugin's hooks driven through
 *   core's PluginHost, no sockets (transaction.ts, host.ts);
 * - fakes: `fakeScanner`, `fakeDns`, `fakeClock`;
 * - assertions: `assertVerdict`, `assertResult`, `assertTraced`;
 * - re-exported from @smarthold/core: the loopback harness, the capture
 *   sink, the raw SMTP client, `needService` and the scanner checks.
 */
export {
  createTestHost,
  type TestHost,
  type TestHostOptions,
  type SubmittedMessage,
  type CollectedJob,
} from './host.js';
export {
  runTransaction,
  testSession,
  type TransactionResult,
  type TransactionInput,
  type RunOptions,
  type StageReply,
  type Stage,
  type MessageResult,
  type RecipientResult,
} from './transaction.js';
export {
  fakeScanner,
  type FakeScanner,
  type FakeScannerOptions,
  type FakeScanInput,
  type FakeVerdict,
} from './scanner.js';
export { fakeDns, dnsError, type FakeDns, type FakeDnsRecords, type FakeDnsOptions } from './dns.js';
export { fakeClock, FAKE_CLOCK_START, type FakeClock } from './clock.js';
export { assertVerdict, assertResult, assertTraced, verdictKind, type VerdictKind } from './assert.js';
export {
  startTestSmarthold,
  startCaptureSink,
  SmtpTestClient,
  sendMail,
  dataBlock,
  queueIdOf,
  needService,
  serviceRequired,
  tcpReachable,
  scanAllPlugin,
  startWithScanner,
  cleanMessage,
  gtubeMessage,
  withoutOurReceived,
  relayOnce,
  verdictOf,
  checkScannedRelayIsIdentical,
  checkGtubeIsHeld,
  GTUBE,
  type TestSmarthold,
  type TestSmartholdOptions,
  type CaptureSink,
  type CapturedMessage,
  type SinkScript,
  type SinkFault,
  type Reply,
  type ScannerUnderTest,
} from '@smarthold/core';
