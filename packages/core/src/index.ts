/**
 * index.ts — the public API of @smarthold/core.
 *
 * Plugin authors need: definePlugin, verdict, the types in plugin/api.ts, the
 * spam-scanner contract and the config keys scanners share, config helpers
 * (duration, cidrList) and the testing helpers. Embedding programs (the CLI)
 * use startSmarthold and the loaders.
 */
export * from './plugin/api.js';
export * from './plugin/verdict.js';
export * from './spam/contract.js';
export { guardedScan, SKIPPED_SIZE_RULE, type ScanGuard } from './spam/guard.js';
export {
  DEFAULT_SCAN_MAX_SIZE,
  scanFailurePolicy,
  scanMaxSize,
  scanServerLabel,
  type ScanServerAddress,
} from './spam/config.js';
export { combineScanners, combineVerdicts, serviceCombiners, type CombinePolicy } from './spam/combine.js';
export { SmartholdError, isSmartholdError, ERROR_CODES, type ErrorCode } from './errors.js';
export { duration, hostPort, cidrList } from './config/types.js';
export {
  configSchema,
  DEFAULT_PLUGINS,
  type Config,
  type ConfigInput,
  type RelayConfig,
} from './config/schema.js';
export { loadConfig, defaultConfigPath, formatIssues, type LoadedConfig } from './config/load.js';
export { networkList, cidrError, normalizeIp, type NetworkList } from './util/networks.js';
export { parseDuration, formatDuration } from './util/duration.js';
export { newQueueId, isQueueId } from './util/queue-id.js';
export { systemClock, type Clock } from './util/clock.js';
export { withDeadline, DeadlineExceeded } from './util/deadline.js';
export { startWorkerThread } from './util/thread.js';
export { writeOrDrain } from './util/drain.js';
/**
 * One request and its reply over a fresh TCP or Unix socket, as the clamd and
 * spamd clients make them: a connect deadline of its own, the caller's
 * AbortSignal, the reply capped at a maximum, writes with backpressure, a
 * message streamed with exactly its size, and a reply that arrived winning
 * over the write error when the server answers early and closes. The caller
 * brings the protocol (what to send, when a reply is complete, what it means)
 * and turns each failure into its own error.
 */
export {
  socketExchange,
  connectSocket,
  MessageLengthError,
  type SocketExchange,
  type SocketAddress,
  type ExchangeMessage,
  type ExchangeOutput,
  type ExchangeFailure,
  type ExchangeFailureReason,
} from './util/exchange.js';
export { createLogger, silentLogger, type Logger } from './log.js';
export {
  startSmarthold,
  openStore,
  hostnameOf,
  publicUrl,
  type Smarthold,
  type StartOptions,
} from './app.js';
export { createPluginQueue, type PluginQueueDeps } from './store/plugin-queue.js';
export { migratePlugin, migrationTable } from './plugin/migrate.js';
export {
  isMysqlUrl,
  openMysql,
  openPluginDatabase,
  openPostgres,
  redactUrl,
  type PluginDatabase,
} from './store/database.js';
export { PluginHost, type HostedPlugin } from './plugin/host.js';
export { loadPlugin, loadPlugins, candidateNames, type LoadedPlugin } from './plugin/load.js';
export { orderPlugins } from './plugin/order.js';
export type { TraceEntry } from './plugin/results.js';
export { parseHeaders, headerList } from './smtp/headers.js';
export { explainText } from './explain.js';
export type * from './store/types.js';
export type { Transport, TransportResult, DeliveryJob } from './delivery/transport.js';
export { needService, serviceRequired, tcpReachable } from './testing/require.js';
export {
  PG_TEST_URL,
  pgAvailable,
  needPostgres,
  createPgTestDatabase,
  type PgTestDatabase,
} from './testing/postgres.js';
export {
  MYSQL_TEST_URL,
  mysqlAvailable,
  needMysql,
  createMysqlTestDatabase,
  type MysqlTestDatabase,
} from './testing/mysql.js';
export {
  startCaptureSink,
  type CaptureSink,
  type CapturedMessage,
  type SinkScript,
  type SinkFault,
} from './testing/capture-sink.js';
export { SmtpTestClient, sendMail, dataBlock, queueIdOf, type Reply } from './testing/smtp-client.js';
export { startTestSmarthold, type TestSmarthold, type TestSmartholdOptions } from './testing/harness.js';
export {
  scanAllPlugin,
  startWithScanner,
  cleanMessage,
  gtubeMessage,
  withoutOurReceived,
  relayOnce,
  verdictOf,
  checkScannedRelayIsIdentical,
  checkGtubeIsHeld,
  type ScannerUnderTest,
} from './testing/scanner-checks.js';
export type { Kysely, Migration } from 'kysely';
// For @smarthold/testkit's socket-less session driver: the pieces ingress uses.
export { ResultsStore } from './plugin/results.js';
export type { HostDeps, MessageDecision, ServiceCombiner } from './plugin/host.js';
export { verdictReply, reply as smtpReply, SmtpReply } from './smtp/reply.js';
export { receivedLine, type ReceivedInfo } from './smtp/received.js';
export type { MxResolver, MxRecord } from './delivery/mx.js';
export { commandReply } from './smtp/reply.js';
export { checkRecipient, type RecipientCheck } from './smtp/policy.js';
export { runDataPhase, type DataPhaseDeps, type DataResult, type DataDecision } from './smtp/data-phase.js';
export { newTx, type TxState } from './smtp/session.js';
export { Committer } from './store/committer.js';
export { Spool } from './store/spool.js';
export { Metrics } from './metrics.js';
