/**
 * index.ts — the @smarthold/plugin-rspamd manifest and public exports.
 *
 * Provides the `spam-scanner` service backed by rspamd (HTTP /checkv2;
 * learning through the controller). It registers no hooks: the plugin that
 * needs a verdict calls the service. It never changes the message and
 * applies none of the headers rspamd suggests.
 */
import { definePlugin } from '@smarthold/core';
import { configSchema } from './config.js';
import { createRspamdScanner } from './scanner.js';

export { configSchema, DEFAULT_MAX_SIZE, type RspamdConfig, type RspamdConfigInput } from './config.js';
export {
  createRspamdScanner,
  SCANNER_NAME,
  SKIPPED_RULE,
  type RspamdScanner,
  type RspamdDeps,
} from './scanner.js';
export {
  checkVerdict,
  envelopeHeaders,
  parseCheck,
  parseLearn,
  RspamdProtocolError,
  type CheckResult,
  type LearnResult,
} from './protocol.js';

export default definePlugin({
  name: 'rspamd',
  version: '0.1.0',
  core: '^1',
  description: 'rspamd as a read-only spam-scanner service',
  config: configSchema,
  provides: ['spam-scanner'],
  setup(ctx) {
    const scanner = createRspamdScanner(ctx.config, {
      warn: (msg, fields) => {
        ctx.log.warn(fields, msg);
      },
    });
    ctx.provide('spam-scanner', scanner);
    ctx.onClose(() => {
      scanner.close();
    });
  },
});
