/**
 * index.ts — the @smarthold/plugin-spamassassin manifest and public exports.
 *
 * Provides the `spam-scanner` service backed by spamd (SPAMC/1.5 REPORT or
 * SYMBOLS; learning with TELL). It registers no hooks: the plugin that needs
 * a verdict (e.g. the quarantine) calls the service. It never changes the
 * message and adds no headers.
 */
import { definePlugin } from '@smarthold/core';
import { configSchema } from './config.js';
import { createSpamAssassinScanner } from './scanner.js';

export {
  configSchema,
  DEFAULT_MAX_SIZE,
  serverLabel,
  type SpamAssassinConfig,
  type SpamAssassinConfigInput,
  type SpamdServer,
} from './config.js';
export {
  createSpamAssassinScanner,
  SCANNER_NAME,
  SKIPPED_RULE,
  type SpamAssassinScanner,
  type TellResult,
} from './scanner.js';
export { SpamdFarm, FarmError, FarmDeadlineError, weightedOrder, type FarmDeps } from './farm.js';
export {
  SpamdProtocolError,
  parseReply,
  parseReport,
  parseSpamHeader,
  parseSymbols,
  type SpamdReply,
  type ParsedRule,
} from './protocol.js';

export default definePlugin({
  name: 'spamassassin',
  version: '0.1.0',
  core: '^1',
  description: 'SpamAssassin (spamd) as a read-only spam-scanner service',
  config: configSchema,
  provides: ['spam-scanner'],
  setup(ctx) {
    const scanner = createSpamAssassinScanner(ctx.config, {
      warn: (msg, fields) => {
        ctx.log.warn(fields, msg);
      },
    });
    ctx.provide('spam-scanner', scanner);
  },
});
