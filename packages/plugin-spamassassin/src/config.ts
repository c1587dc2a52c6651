/**
 * config.ts — the `[plugin.spamassassin]` section: schema and defaults.
 *
 * Validates the spamd farm (TCP `address` or Unix `socket`, each with a
 * weight), deadlines, the size limit, the optional threshold override, the
 * scan mode and the failure policy (the size limit and the failure policy
 * are the keys every networked scanner shares: core's spam/config.ts). It
 * does not connect to anything.
 */
import {
  DEFAULT_SCAN_MAX_SIZE,
  duration,
  hostPort,
  scanFailurePolicy,
  scanMaxSize,
  scanServerLabel,
} from '@smarthold/core';
import { z } from 'zod';

/** SpamAssassin's own default for spamc: messages over 500 KB are not scanned (spamc -s). Core's, under the plugin's name. */
export const DEFAULT_MAX_SIZE = DEFAULT_SCAN_MAX_SIZE;

const weight = z.number().nonnegative().default(1);

/** One spamd over TCP: `{ address = "127.0.0.1:783", weight = 1 }`. */
const tcpServer = z
  .object({ address: hostPort, weight })
  .strict()
  .transform((s) => ({ kind: 'tcp' as const, host: s.address.host, port: s.address.port, weight: s.weight }));

/** One spamd on a Unix socket: `{ socket = "/run/spamd.sock" }`. */
const unixServer = z
  .object({ socket: z.string().min(1), weight })
  .strict()
  .transform((s) => ({ kind: 'unix' as const, path: s.socket, weight: s.weight }));

export const configSchema = z
  .object({
    servers: z
      .array(z.union([tcpServer, unixServer]))
      .min(1)
      .default(() => [{ kind: 'tcp' as const, host: '127.0.0.1', port: 783, weight: 1 }])
      .describe(
        'The spamd farm: a list of { address = "host:port" } or { socket = "/path" }, each with an optional weight (default 1; 0 makes a server a backup, asked only when the weighted ones fail). Default: one spamd at 127.0.0.1:783.',
      ),
    timeout: duration('15s').describe('Whole-scan deadline, all failovers included.'),
    connect_timeout: duration('2s').describe(
      'Deadline for one TCP/Unix connect; a server that misses it is skipped for the next.',
    ),
    down_time: duration('30s').describe('How long a server that failed is asked only after the others.'),
    max_size: scanMaxSize(),
    threshold: z
      .number()
      .optional()
      .describe("Spam from this score on; default: spamd's own required score."),
    mode: z
      .enum(['report', 'symbols'])
      .default('report')
      .describe('`report` gives rule scores and descriptions; `symbols` gives rule names only.'),
    user: z
      .string()
      .regex(/^[^\s\r\n]+$/, 'a user name without spaces')
      .optional()
      .describe('The `User:` header: whose preferences spamd applies (spamd without -x).'),
    on_failure: scanFailurePolicy('spamd'),
  })
  .strict();

/** The section as written in TOML. */
export type SpamAssassinConfigInput = z.input<typeof configSchema>;
/** The section after validation and defaults. */
export type SpamAssassinConfig = z.output<typeof configSchema>;
/** One spamd of the farm, after validation. */
export type SpamdServer = SpamAssassinConfig['servers'][number];

/** A server as text for logs and errors: "127.0.0.1:783" or "unix:/run/spamd.sock" (core's scanServerLabel). */
export const serverLabel: (s: SpamdServer) => string = scanServerLabel;
