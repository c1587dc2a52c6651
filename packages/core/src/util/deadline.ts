/**
 * util/deadline.ts — run a promise against a deadline.
 *
 * Used for hooks and for the DATA phase: smtp-server suspends its own idle
 * timeout while a handler is pending, so every await on a plugin has a deadline
 * of ours. It does not cancel the work; it stops waiting for it.
 */

/** Thrown (as a value) when the deadline passes first. */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`deadline of ${ms} ms exceeded`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * Resolves with the promise's value, or rejects with {@link DeadlineExceeded}
 * after `ms` milliseconds, whichever comes first.
 */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new DeadlineExceeded(ms));
    }, ms);
    timer.unref();
  });
  return Promise.race([work, deadline]).finally(() => {
    clearTimeout(timer);
  });
}
