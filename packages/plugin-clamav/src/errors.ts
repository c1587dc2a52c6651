/**
 * errors.ts — the plugin's error catalog: one class, stable codes.
 *
 * Every failure the client reports is a {@link ClamavError} with a `code`
 * that logs, results and tests can match on, and whether another clamd is
 * worth asking (`failover`). It does not decide what a failure means for
 * the message: that is the failure policy (scanner.ts, `on_failure`).
 */

/** The stable codes, with what each means. */
export const CLAMAV_ERROR_CODES = {
  /** The connection was refused, reset before it opened, or not made within connect_timeout. */
  SMARTHOLD_CLAMAV_CONNECT: 'could not connect to clamd',
  /** The whole scan (all failovers) overran `timeout`. */
  SMARTHOLD_CLAMAV_TIMEOUT: 'clamd did not answer in time',
  /** clamd closed the connection, or answered something that is not a clamd reply. */
  SMARTHOLD_CLAMAV_PROTOCOL: 'clamd gave no usable reply',
  /** clamd answered `... ERROR` (its own trouble: out of memory, temp files, a broken database). */
  SMARTHOLD_CLAMAV_SERVER_ERROR: 'clamd reported an error',
  /** clamd answered `INSTREAM size limit exceeded`: the message is over its StreamMaxLength. */
  SMARTHOLD_CLAMAV_SIZE_LIMIT: "the message is over clamd's StreamMaxLength",
  /** The message stream gave more or fewer octets than its size, or failed while being read. */
  SMARTHOLD_CLAMAV_MESSAGE: 'the message could not be read',
} as const;

export type ClamavErrorCode = keyof typeof CLAMAV_ERROR_CODES;

/** Codes after which the next clamd is asked: this server is unwell, another may not be. */
const FAILOVER: ReadonlySet<ClamavErrorCode> = new Set([
  'SMARTHOLD_CLAMAV_CONNECT',
  'SMARTHOLD_CLAMAV_PROTOCOL',
  'SMARTHOLD_CLAMAV_SERVER_ERROR',
]);

/**
 * A failed scan.
 *
 * @example
 * if (err instanceof ClamavError && err.code === 'SMARTHOLD_CLAMAV_SIZE_LIMIT') lowerMaxSize();
 */
export class ClamavError extends Error {
  /** The server that failed ("127.0.0.1:3310", "unix:/run/clamav/clamd.ctl"), when one is to blame. */
  readonly server: string | undefined;
  constructor(
    readonly code: ClamavErrorCode,
    message: string,
    options: { cause?: unknown; server?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClamavError';
    this.server = options.server;
  }

  /** True when asking the next server may help. */
  get failover(): boolean {
    return FAILOVER.has(this.code);
  }
}
