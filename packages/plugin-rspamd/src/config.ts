/**
 * config.ts — the `[plugin.rspamd]` section: schema and defaults.
 *
 * Validates the scanner and controller URLs, the controller password, the
 * deadline, the size limit, which actions mean spam, the optional threshold
 * override, the optional settings id and the failure policy (the size limit
 * and the failure policy are the keys every networked scanner shares: core's
 * spam/config.ts). It does not connect to anything.
 */
import { DEFAULT_SCAN_MAX_SIZE, duration, scanFailurePolicy, scanMaxSize } from '@smarthold/core';
import { z } from 'zod';

/** Messages over 500 KB are not scanned: the same default as the spamassassin plugin (spamc -s). Core's, under the plugin's name. */
export const DEFAULT_MAX_SIZE = DEFAULT_SCAN_MAX_SIZE;

/** rspamd's actions (rspamd.com/doc/configuration/metrics.html), plus any custom action name. */
const action = z.string().min(1);

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'an http:// or https:// URL, e.g. "http://127.0.0.1:11333"' })
  .transform((u) => u.replace(/\/+$/, ''));

export const configSchema = z
  .object({
    url: httpUrl
      .default('http://127.0.0.1:11333')
      .describe('The normal worker (or rspamd_proxy in self-scan mode): where /checkv2 is.'),
    controller_url: httpUrl
      .default('http://127.0.0.1:11334')
      .describe('The controller worker: where /learnspam and /learnham are.'),
    password: z
      .string()
      .optional()
      .describe('Controller password, sent as the `Password` header when learning.'),
    timeout: duration('10s').describe("Whole-request deadline (rspamd's own task_timeout is 8 s)."),
    max_size: scanMaxSize(),
    spam_actions: z
      .array(action)
      .default(() => ['reject', 'add header', 'rewrite subject'])
      .describe('Actions that mean spam.'),
    threshold: z
      .number()
      .optional()
      .describe(
        "Spam from this score on, whatever the action; default: rspamd's `required_score` (the reject score).",
      ),
    settings_id: z
      .string()
      .regex(/^[\w.-]+$/, 'letters, digits, "_", "." and "-"')
      .optional()
      .describe(
        'Sent as `Settings-ID`: selects a settings rule in rspamd (rspamd.com/doc/configuration/settings.html).',
      ),
    max_connections: z
      .number()
      .int()
      .positive()
      .default(32)
      .describe('Keep-alive connections kept open to rspamd.'),
    on_failure: scanFailurePolicy('rspamd'),
  })
  .strict();

/** The section as written in TOML. */
export type RspamdConfigInput = z.input<typeof configSchema>;
/** The section after validation and defaults. */
export type RspamdConfig = z.output<typeof configSchema>;
