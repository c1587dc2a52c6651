/**
 * clock.ts — a clock that moves only when the test says so.
 *
 * Implements core's `Clock`; hand it to `createTestHost`/`runTransaction`
 * (`clock`) or to `startTestSmarthold`. It does not fire timers.
 */
import type { Clock } from '@smarthold/core';

/** A {@link Clock} under the test's control. */
export interface FakeClock extends Clock {
  /** Moves time forward (or back, with a negative value). Returns the new time. */
  advance(ms: number): number;
  /** Sets the time. */
  set(ms: number): void;
}

/** 2026-01-01T00:00:00Z, the default start. */
export const FAKE_CLOCK_START = Date.UTC(2026, 0, 1);

/**
 * Makes a fake clock starting at `startMs` (milliseconds since the epoch).
 *
 * @example
 * const clock = fakeClock();
 * clock.advance(60_000); // one minute later
 */
export function fakeClock(startMs: number = FAKE_CLOCK_START): FakeClock {
  let t = startMs;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
      return t;
    },
    set(ms) {
      t = ms;
    },
  };
}
