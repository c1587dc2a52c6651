/**
 * exit.ts — sysexits(3) codes and turning errors into them.
 *
 * Config problems exit 78 (EX_CONFIG), a missing message 66 (EX_NOINPUT),
 * anything else 70 (EX_SOFTWARE). Prints the error's message, never a stack
 * for an expected error.
 */
import { isSmartholdError } from '@smarthold/core';

export const EX = {
  OK: 0,
  USAGE: 64,
  NOINPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANTCREAT: 73,
  TEMPFAIL: 75,
  CONFIG: 78,
} as const;

const CONFIG_CODES = new Set([
  'SMARTHOLD_CONFIG_INVALID',
  'SMARTHOLD_CONFIG_READ',
  'SMARTHOLD_PLUGIN_NOT_FOUND',
  'SMARTHOLD_PLUGIN_INVALID',
  'SMARTHOLD_PLUGIN_API_MISMATCH',
  'SMARTHOLD_PLUGIN_MISSING_SERVICE',
  'SMARTHOLD_PLUGIN_CYCLE',
  'SMARTHOLD_PLUGIN_DUPLICATE',
  'SMARTHOLD_PLUGIN_CONFIG',
  'SMARTHOLD_SERVICE_UNKNOWN',
]);

/** Prints an error and returns the exit code for it. */
export function reportError(err: unknown): number {
  if (isSmartholdError(err)) {
    process.stderr.write(`smarthold: ${err.message}\n`);
    if (CONFIG_CODES.has(err.code)) return EX.CONFIG;
    if (err.code === 'SMARTHOLD_NOT_FOUND') return EX.NOINPUT;
    return EX.SOFTWARE;
  }
  process.stderr.write(`smarthold: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EX.SOFTWARE;
}
