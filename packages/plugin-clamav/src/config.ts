/**
 * config.ts — the `[plugin.clamav]` section: schema and defaults.
 *
 * Validates the clamd servers (TCP `address` or Unix `socket`, asked in the
 * order listed), the deadlines, what happens to infected mail (`action`) and
 * to mail too large to scan (`on_oversize`), and the two keys every
 * networked scanner shares with spamassassin and rspamd (core's
 * spam/config.ts): `max_size` and `on_failure`. It does not connect to
 * anything.
 */
import { duration, hostPort, scanFailurePolicy, scanMaxSize, scanServerLabel } from '@smarthold/core';
import { z } from 'zod';

/**
 * Messages over 25 MiB are not sent: the `StreamMaxLength` of Debian's
 * packaged clamd.conf, so that clamd never refuses a stream we send it.
 */
export const DEFAULT_MAX_SIZE = 25 * 1024 * 1024;

/** One clamd over TCP: `{ address = "127.0.0.1:3310" }`. */
const tcpServer = z
  .object({ address: hostPort })
  .strict()
  .transform((s) => ({ kind: 'tcp' as const, host: s.address.host, port: s.address.port }));

/** One clamd on a Unix socket: `{ socket = "/run/clamav/clamd.ctl" }`. */
const unixServer = z
  .object({ socket: z.string().min(1) })
  .strict()
  .transform((s) => ({ kind: 'unix' as const, path: s.socket }));

/** What a message too large to scan may get (`on_oversize`), in the reference's order. */
const OVERSIZE_POLICIES = ['pass', 'hold', 'tempfail', 'reject'] as const;
/** The `on_oversize` values. */
export type OversizePolicy = (typeof OVERSIZE_POLICIES)[number];

export const configSchema = z
  .object({
    servers: z
      .array(z.union([tcpServer, unixServer]))
      .min(1)
      .default(() => [{ kind: 'unix' as const, path: '/run/clamav/clamd.ctl' }])
      .describe(
        'The clamd servers: a list of { address = "host:port" } or { socket = "/path" }, asked in this order; the next one is asked when one fails. Default: Debian\'s socket /run/clamav/clamd.ctl.',
      ),
    action: z
      .enum(['reject', 'hold', 'none'])
      .default('reject')
      .describe(
        'What an infected message gets: reject (554 5.7.1 at the end of DATA, default), hold (accepted into the hold queue, delivered to nobody), or none (no hook: only the virus-scanner service, for another plugin to call).',
      ),
    timeout: duration('20s').describe('Whole-scan deadline, all failovers included.'),
    connect_timeout: duration('2s').describe(
      'Deadline for one TCP/Unix connect; a server that misses it is left for the next.',
    ),
    down_time: duration('30s').describe('How long a server that failed is asked only after the others.'),
    max_size: scanMaxSize(DEFAULT_MAX_SIZE).describe(
      "Messages larger than this (octets) are not sent to clamd: they are recorded as skipped, logged, and get on_oversize. Keep it at or below clamd's StreamMaxLength (25M in Debian's clamd.conf).",
    ),
    on_oversize: z
      .enum(OVERSIZE_POLICIES)
      .default('pass')
      .describe(
        'What a message over max_size gets, unscanned: pass (delivered, default), hold (accepted into the hold queue, as action = "hold" does), tempfail (451 4.3.0: the client keeps it and retries, until max_size is raised or it gives up) or reject (552 5.3.4, too big for the virus scan: the client bounces it).',
      ),
    on_failure: scanFailurePolicy('clamd').describe(
      'When no clamd answers in time (or answers an error): tempfail (451, default), pass (deliver unscanned, recorded and logged) or hold (keep in the hold queue).',
    ),
  })
  .strict();

/** The section as written in TOML. */
export type ClamavConfigInput = z.input<typeof configSchema>;
/** The section after validation and defaults. */
export type ClamavConfig = z.output<typeof configSchema>;
/** One clamd, after validation. */
export type ClamdServer = ClamavConfig['servers'][number];

/** A server as text for logs and errors: "127.0.0.1:3310" or "unix:/run/clamav/clamd.ctl" (core's scanServerLabel). */
export const serverLabel: (s: ClamdServer) => string = scanServerLabel;
