/**
 * config.ts — the `[plugin.forward-limit]` section: schema and defaults.
 *
 * Every key is described, so the reference table can be generated from the
 * schema; unknown keys are refused (strictObject). Durations go through
 * core's `duration()` helper and come out as milliseconds.
 */
import { duration } from '@smarthold/core';
import { z } from 'zod';

const address = z
  .string()
  .min(3)
  .transform((v, ctx) => {
    const a = v.trim().toLowerCase();
    if (!/^[^\s@<>]+@[^\s@<>]+$/.test(a)) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a mail address (e.g. "user@isp.example")` });
      return z.NEVER;
    }
    return a;
  });

/** The schema of `[plugin.forward-limit]`. */
export const forwardLimitConfig = z.strictObject({
  max_messages: z
    .number()
    .int()
    .positive()
    .default(200)
    .describe(
      'how many forwarded messages one source mailbox may send per window; the next one is held or tempfailed',
    ),
  window: duration('1h').describe(
    'length of the counting window (number of milliseconds or a duration such as "1h")',
  ),
  window_mode: z
    .enum(['sliding', 'fixed'])
    .default('sliding')
    .describe(
      'fixed: count per calendar-aligned window; sliding: the current window plus the previous one weighted by how much of it still overlaps the last `window`',
    ),
  action: z
    .enum(['hold', 'tempfail'])
    .default('hold')
    .describe(
      'what happens over the limit: hold (accept into the hold queue) or tempfail (451 4.7.0, the forwarder retries later)',
    ),
  source_headers: z
    .array(z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/, 'a header field name'))
    .default(['Delivered-To', 'X-Original-To'])
    .describe(
      'header fields naming the mailbox that forwarded the message, tried in order; only the topmost value of each is read',
    ),
  require_our_domain: z
    .boolean()
    .default(true)
    .describe(
      "a header address counts only when it is in sender-auth's our_domains (a planted header naming a foreign address is ignored)",
    ),
  envelope_sender: z
    .boolean()
    .default(true)
    .describe(
      'with no usable header: use the envelope sender when it is in our_domains and the message entered from outside (a forwarder that rewrites the sender to the mailbox)',
    ),
  exempt: z.array(address).default([]).describe('source mailboxes that are never counted or limited'),
  prune_every: duration('10m').describe(
    'how often the job deletes counters of windows that can no longer matter',
  ),
  top_default: z
    .number()
    .int()
    .positive()
    .max(1000)
    .default(20)
    .describe('how many mailboxes GET /forward-limit/top lists when no ?limit= is given (at most 1000)'),
});

/** The validated section. */
export type ForwardLimitConfig = z.output<typeof forwardLimitConfig>;
/** The section as written in TOML. */
export type ForwardLimitConfigInput = z.input<typeof forwardLimitConfig>;
