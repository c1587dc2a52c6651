/**
 * window.ts — the window arithmetic, pure: no clock, no store.
 *
 * Windows are aligned to the epoch (`start = floor(now / window) * window`),
 * so every counter row is keyed by (mailbox, window_start). The fixed mode
 * counts the current window only. The sliding mode is the usual
 * sliding-window counter: the current window's count plus the previous
 * window's count weighted by the part of it that still lies within the last
 * `window` milliseconds. It never needs more than two rows per mailbox.
 */

export type WindowMode = 'fixed' | 'sliding';

/** Start of the window that contains `now`. */
export function windowStart(now: number, windowMs: number): number {
  return Math.floor(now / windowMs) * windowMs;
}

/**
 * The count a mailbox is judged by at `now`, given the current and previous
 * windows' counts. Rounded down, so a half-overlapping single message counts 0.
 */
export function effectiveCount(
  mode: WindowMode,
  now: number,
  windowMs: number,
  current: number,
  previous: number,
): number {
  if (mode === 'fixed') return current;
  const elapsed = now - windowStart(now, windowMs);
  const weight = (windowMs - elapsed) / windowMs;
  return current + Math.floor(previous * weight);
}

/** Rows whose window starts before this are useless at `now` (neither current nor previous) and may be deleted. */
export function pruneBefore(now: number, windowMs: number): number {
  return windowStart(now, windowMs) - windowMs;
}
