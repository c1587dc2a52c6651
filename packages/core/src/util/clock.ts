/**
 * util/clock.ts — the injectable clock.
 *
 * Everything in core that needs the time takes a Clock, so tests can move time
 * (the testkit ships a fake). It does not schedule.
 */

/** A source of the current time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
