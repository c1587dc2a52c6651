/**
 * pages/limiter.ts — in-memory rate limits for mail the pages send.
 *
 * "Email me a link" and redirect confirmations send mail to an address a
 * visitor types, so they are limited: at most one mail per address per ten
 * minutes, and a small budget of requests per client IP on the public
 * /q/access form. Counters are fixed windows in a Map with a bounded number
 * of keys: expired entries are swept when the map is full, and if it is still
 * full the oldest window is dropped (so a flood of distinct keys costs memory
 * only up to the bound, at worst giving an old key a fresh window).
 *
 * The limits are per node: several nodes behind one name each keep their own
 * counters, so the effective limit is the node count times these numbers.
 * It does not know about HTTP; the routes ask it.
 */

/** A fixed-window counter per key, with a bounded number of keys. */
export class RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly opts: {
      /** Requests allowed per key per window. */
      readonly max: number;
      readonly windowMs: number;
      /** Keys kept at most. */
      readonly maxKeys: number;
      readonly now?: () => number;
    },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Counts one request for `key`; false when its budget for the current window is spent. */
  take(key: string): boolean {
    const now = this.now();
    const w = this.windows.get(key);
    if (w !== undefined && w.resetAt > now) {
      if (w.count >= this.opts.max) return false;
      w.count++;
      return true;
    }
    this.windows.delete(key);
    this.makeRoom(now);
    this.windows.set(key, { count: 1, resetAt: now + this.opts.windowMs });
    return true;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.windows.size;
  }

  /**
   * Windows all have the same length and are (re)inserted when they start, so
   * the Map's order is expiry order: sweeping stops at the first live one.
   */
  private makeRoom(now: number): void {
    if (this.windows.size < this.opts.maxKeys) return;
    for (const [k, w] of this.windows) {
      if (w.resetAt > now && this.windows.size < this.opts.maxKeys) break;
      this.windows.delete(k);
    }
  }
}

const TEN_MINUTES = 10 * 60_000;

/** The pages' limits. */
export interface AccessLimits {
  /** One mail per address (access link, redirect confirmation) per window. */
  readonly perAddress: RateLimiter;
  /** Requests to the public /q/access form per client IP per window. */
  readonly perClient: RateLimiter;
}

/** The default limits: 1 mail per address and 10 access requests per client IP per 10 minutes. */
export function defaultLimits(now?: () => number): AccessLimits {
  const clock = now ? { now } : {};
  return {
    perAddress: new RateLimiter({ max: 1, windowMs: TEN_MINUTES, maxKeys: 50_000, ...clock }),
    perClient: new RateLimiter({ max: 10, windowMs: TEN_MINUTES, maxKeys: 10_000, ...clock }),
  };
}
