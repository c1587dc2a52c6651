/**
 * config/types.ts — zod helpers shared by the core schema and plugin schemas.
 *
 * Durations, host:port addresses, CIDR lists, file paths. Only validation and
 * parsing; loading files is config/load.ts.
 */
import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import { cidrError } from '../util/networks.js';

/** A duration such as "30s"; parsed to milliseconds. */
export function duration(defaultValue: string) {
  return z
    .union([z.string(), z.number().int().nonnegative()])
    .default(defaultValue)
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `"${v}" is not a duration; use a number with ms, s, m, h or d, e.g. "30s"`,
        });
        return z.NEVER;
      }
      return ms;
    });
}

/** "host:port" or "[v6]:port"; parsed to { host, port }. */
export const hostPort = z.string().transform((v, ctx) => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not host:port (e.g. "127.0.0.1:2525" or "[::1]:2525")`,
    });
    return z.NEVER;
  }
  return { host: m[1] ?? m[2] ?? '', port };
});
export type HostPort = z.output<typeof hostPort>;

/** A list of CIDR blocks or addresses. */
export const cidrList = z.array(
  z.string().superRefine((v, ctx) => {
    const err = cidrError(v);
    if (err) ctx.addIssue({ code: 'custom', message: err });
  }),
);
