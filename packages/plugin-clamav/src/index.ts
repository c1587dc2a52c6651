/**
 * index.ts — the @smarthold/plugin-clamav manifest and public exports.
 *
 * Provides the `virus-scanner` service backed by clamd (INSTREAM over TCP or
 * a Unix socket, with failover), and, unless `action = "none"`, a data hook
 * that scans every message and rejects (554 5.7.1) or holds infected mail,
 * and applies `on_oversize` to mail too large to scan.
 * It does not provide `spam-scanner`: see the README for why. It never
 * changes the message and adds no headers.
 */
import { definePlugin } from '@smarthold/core';
import { configSchema } from './config.js';
import { createDataHook } from './hook.js';
import { createClamavScanner } from './scanner.js';

export {
  configSchema,
  DEFAULT_MAX_SIZE,
  serverLabel,
  type ClamavConfig,
  type ClamavConfigInput,
  type ClamdServer,
  type OversizePolicy,
} from './config.js';
export {
  createClamavScanner,
  SCANNER_NAME,
  type ClamavScanner,
  type VirusScanner,
  type VirusVerdict,
} from './scanner.js';
export { createDataHook, oversizeVerdict, replySafe, verdictRecord, type HookDeps } from './hook.js';
export { ClamdFarm, type FarmDeps, type ScanAnswer } from './farm.js';
export { exchange, DEFAULT_CHUNK_SIZE, type ClamdRequest, type Connector } from './connection.js';
export { ClamavError, CLAMAV_ERROR_CODES, type ClamavErrorCode } from './errors.js';
export { parseReply, replyLines, frames, chunkHeader, type ClamdReply } from './protocol.js';

/** The deadline a hook gets beyond the scan's own, so the scan's timeout (with its message) fires first. */
const HOOK_MARGIN_MS = 2000;

export default definePlugin({
  name: 'clamav',
  version: '0.1.0',
  core: '^1',
  description: 'ClamAV (clamd INSTREAM) as a read-only virus scanner: rejects or holds infected mail',
  config: configSchema,
  provides: ['virus-scanner'],
  setup(ctx) {
    const scanner = createClamavScanner(ctx.config, {
      warn: (msg, fields) => {
        ctx.log.warn(fields, msg);
      },
    });
    ctx.provide('virus-scanner', scanner);
    if (ctx.config.action !== 'none') {
      ctx.hook('data', createDataHook({ scanner, config: ctx.config, log: ctx.log }), {
        timeoutMs: ctx.config.timeout + HOOK_MARGIN_MS,
      });
    }
  },
});
