/**
 * util/duration.ts — durations in config ("500ms", "30s", "5m", "2h", "3d").
 *
 * Parsing only; it does not schedule anything.
 */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "30s" into 30000 (milliseconds). Returns undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m?.[1] || !m[2]) return undefined;
  const unit = UNITS[m[2]];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** Formats milliseconds the way config writes them (largest exact unit). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
