/**
 * errors.ts — the error catalog of @smarthold/core.
 *
 * Every error smarthold raises on purpose carries a stable `code` (SMARTHOLD_*),
 * keeps its `cause`, and, when it reaches an SMTP client, the reply it turns
 * into (`smtpCode`, `enhancedCode`, `temporary`). It does not decide what to do
 * with an error: ingress turns it into a reply, the CLI into an exit code.
 */

/** Options accepted by {@link SmartholdError}. */
export interface SmartholdErrorOptions {
  cause?: unknown;
  smtpCode?: number;
  enhancedCode?: string;
  /** For config errors: where the problem is. */
  file?: string;
  key?: string;
}

/**
 * An error with a stable code.
 *
 * @example
 * throw new SmartholdError('SMARTHOLD_STORE_WRITE', 'could not write the spool file', { cause: err, smtpCode: 451, enhancedCode: '4.3.0' });
 */
export class SmartholdError extends Error {
  readonly code: ErrorCode;
  readonly smtpCode: number | undefined;
  readonly enhancedCode: string | undefined;
  readonly file: string | undefined;
  readonly key: string | undefined;

  constructor(code: ErrorCode, message: string, options: SmartholdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SmartholdError';
    this.code = code;
    this.smtpCode = options.smtpCode;
    this.enhancedCode = options.enhancedCode;
    this.file = options.file;
    this.key = options.key;
  }

  /** True when an SMTP client should try again later (4xx). */
  get temporary(): boolean {
    return this.smtpCode !== undefined && this.smtpCode >= 400 && this.smtpCode < 500;
  }
}

/** The catalog. Codes are stable: add, never rename. */
export const ERROR_CODES = {
  SMARTHOLD_CONFIG_INVALID: 'the configuration does not validate',
  SMARTHOLD_CONFIG_READ: 'a configuration file could not be read or parsed',
  SMARTHOLD_PLUGIN_NOT_FOUND: 'a plugin named in the configuration could not be resolved',
  SMARTHOLD_PLUGIN_INVALID: 'a module does not export a plugin manifest',
  SMARTHOLD_PLUGIN_API_MISMATCH: "a plugin's `core` range does not include this plugin API version",
  SMARTHOLD_PLUGIN_MISSING_SERVICE: 'a plugin requires a service no loaded plugin provides',
  SMARTHOLD_PLUGIN_CYCLE: 'plugins require each other in a cycle',
  SMARTHOLD_PLUGIN_DUPLICATE: 'two plugins have the same name or provide the same service',
  SMARTHOLD_PLUGIN_SETUP: "a plugin's setup failed",
  SMARTHOLD_DATABASE: 'the plugin database (store.database) cannot be reached',
  SMARTHOLD_PLUGIN_CONFIG: "a plugin's configuration section does not validate",
  SMARTHOLD_SERVICE_UNKNOWN: 'a plugin asked for a service it did not declare in `requires`',
  SMARTHOLD_HOOK_TIMEOUT: 'a hook overran its deadline',
  SMARTHOLD_HOOK_FAILED: 'a hook threw',
  SMARTHOLD_STORE_WRITE: 'the store or the spool could not be written',
  SMARTHOLD_STORE_LOCKED: 'another smarthold process uses the same store directory',
  SMARTHOLD_STORE_CORRUPT: 'a spool entry is missing or damaged',
  SMARTHOLD_NOT_FOUND: 'no message with that queue id',
  SMARTHOLD_DATA_TIMEOUT: 'the DATA phase overran its deadline',
  SMARTHOLD_DELIVERY: 'a delivery attempt failed',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** True when `err` is a {@link SmartholdError} with the given code. */
export function isSmartholdError(err: unknown, code?: ErrorCode): err is SmartholdError {
  return err instanceof SmartholdError && (code === undefined || err.code === code);
}
