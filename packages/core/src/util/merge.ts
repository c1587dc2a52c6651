/**
 * util/merge.ts — merge plain tables: tables merge key by key, anything else
 * (values, lists) replaces. The rule config drop-ins follow.
 */

/** True for a plain table (not an array, not a Date). */
export function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A new table: `over` merged onto `base`. Neither is changed. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isTable(v) && isTable(b) ? deepMerge(b, v) : v;
  }
  return out;
}
