/**
 * output.ts — small things every CLI command that reads the store shares:
 * recognising a busy database, and stopping quietly when `| head` closes
 * the pipe.
 */
import { EX } from './exit.js';

/** A store error that goes away by itself: another process holds the database lock (SQLITE_BUSY/LOCKED). */
export function isBusy(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)) return true;
  }
  return false;
}

/** `smarthold mailq | head` closes the pipe early: stop quietly instead of dying on EPIPE. */
export function quietOnClosedPipe(): void {
  if (process.stdout.listenerCount('error')) return;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`smarthold: cannot write the output: ${err.message}\n`);
    process.exit(
      err.code === 'EPIPE' ? (typeof process.exitCode === 'number' ? process.exitCode : EX.OK) : EX.SOFTWARE,
    );
  });
}
