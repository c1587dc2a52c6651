/**
 * delivery/retry.ts — when to try a deferred recipient again.
 *
 * Like Postfix: the first retry after retry_min, doubling each attempt up to
 * retry_max; a recipient still deferred after `lifetime` in the queue bounces.
 * Pure functions of attempts and times.
 */

export interface RetryPolicy {
  readonly minMs: number;
  readonly maxMs: number;
  readonly lifetimeMs: number;
}

/** Delay before the next attempt after `attempts` failed attempts (attempts ≥ 1). */
export function retryDelay(policy: RetryPolicy, attempts: number): number {
  const exp = Math.min(30, Math.max(0, attempts - 1));
  return Math.min(policy.maxMs, policy.minMs * 2 ** exp);
}

/** True when a message that arrived at `arrivalTime` has outlived the queue lifetime at `now`. */
export function expired(policy: RetryPolicy, arrivalTime: number, now: number): boolean {
  return now - arrivalTime >= policy.lifetimeMs;
}
