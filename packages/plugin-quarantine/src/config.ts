/**
 * config.ts — the `[plugin.quarantine]` section: schema and defaults.
 *
 * Every key is described so docs/reference/config.md can be generated from
 * it. Defaults are the original system's (REFERENCE.md) unless a comment says
 * why not. It does no I/O: list files and template directories are read at
 * setup.
 */
import { duration } from '@smarthold/core';
import { z } from 'zod';

/** One day in milliseconds: the unit of the day-counted settings below. */
export const DAY = 86_400_000;

/** An address or a domain ("user@example.com", "example.com", "@example.com"), lower-cased. */
const addressOrDomain = z
  .string()
  .min(1)
  .transform((v) => v.trim().toLowerCase().replace(/^@/, ''));

const days = (def: number, text: string) => z.number().int().nonnegative().default(def).describe(text);

const rejectSchema = z
  .strictObject({
    code: z
      .number()
      .int()
      .min(500)
      .max(599)
      .default(552)
      .describe('SMTP code of the reject with a release URL (the original: 552)'),
    enhanced: z
      .string()
      .regex(/^5\.\d{1,3}\.\d{1,3}$/, 'an enhanced status code like "5.2.1"')
      .default('5.2.1')
      .describe('RFC 3463 enhanced status code of that reject (5.2.1: mailbox disabled)'),
    text: z
      .string()
      .min(1)
      .default(
        'Your message is quarantined because we think it is probably spam. If it is not spam, open the address below to release it from quarantine, or to choose to have the spam you send silently deleted instead of bounced',
      )
      .describe(
        'text of that reject; the release URL follows on a line of its own (the text is wrapped so that no reply line passes 512 octets)',
      ),
    bounce_text: z
      .string()
      .min(1)
      .default('Message refused as probable spam')
      .describe('text of the plain reject (no hold) for senders who chose "bounce"'),
  })
  .prefault({});

const scanSchema = z
  .strictObject({
    ours: z
      .boolean()
      .default(true)
      .describe(
        'scan mail from our senders (our domain, our network or SPF pass): a spammy message from them is held whatever the recipient',
      ),
    from_our_networks: z
      .boolean()
      .default(false)
      .describe('also scan all mail that entered from our networks'),
    not_from_our_networks: z
      .boolean()
      .default(false)
      .describe('also scan all mail that entered from outside our networks'),
    from_our_domains: z.boolean().default(false).describe('also scan all mail with a sender in our domains'),
    not_from_our_domains: z
      .boolean()
      .default(false)
      .describe('also scan all mail with a sender outside our domains'),
    all: z.boolean().default(false).describe('scan every message'),
    random_percent: z
      .number()
      .min(0)
      .max(100)
      .default(0)
      .describe(
        'scan this share of the remaining mail at random, for statistics only (it never changes an outcome; the original sampled 1%)',
      ),
    special_senders: z
      .array(addressOrDomain)
      .default([])
      .describe('senders (addresses or domains) whose mail is always scanned'),
  })
  .prefault({});

const noticeSchema = z
  .strictObject({
    from: z
      .string()
      .default('')
      .describe(
        'From: of notices, e.g. "Mail quarantine <quarantine@example.net>"; empty: "Mail quarantine <postmaster@HOSTNAME>"',
      ),
    envelope_from: z
      .string()
      .default('')
      .describe('envelope sender of notices; empty: the null sender <> (a notice that bounces goes nowhere)'),
    recipient_interval: days(
      10,
      'days between two "we are holding mail for you" letters to one recipient (sent only when new mail was held)',
    ),
    sender_interval: days(
      10,
      'days between two notifications of one sender from one sending IP (reject with URL); in between, mail is held silently',
    ),
    templates: z
      .string()
      .default('')
      .describe(
        'directory of LiquidJS templates overriding the shipped ones (same file names); relative to the working directory',
      ),
    site_name: z
      .string()
      .default('')
      .describe('name of the service shown in notices and pages; empty: HOSTNAME'),
  })
  .prefault({});

const expireSchema = z
  .strictObject({
    max_age: days(30, 'held mail older than this many days is discarded'),
    max_size: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe(
        'when held mail takes more than this many bytes, the oldest is discarded first (0: no limit)',
      ),
    sender_history: days(20, 'days of per-sender history kept (counts for reports)'),
    idle_records: days(
      720,
      'sender and recipient records (with their preferences) not seen for this many days are forgotten',
    ),
    token_days: days(
      60,
      'days a sender or recipient link stays valid (message links live as long as the message)',
    ),
    every: duration('1h').describe('how often the expiry job runs'),
  })
  .prefault({});

const learnSchema = z
  .strictObject({
    on_release: z
      .boolean()
      .default(true)
      .describe('a release confirmed by a person teaches the scanners "ham"'),
    on_discard: z
      .boolean()
      .default(false)
      .describe('a discard of a held message confirmed by a person teaches the scanners "spam"'),
  })
  .prefault({});

const adminSchema = z
  .strictObject({
    htpasswd: z
      .string()
      .default('')
      .describe(
        'htpasswd file of the people who may use the admin page /q/admin (bcrypt entries only, as written by `htpasswd -B`); re-read when it changes; empty: the admin page is off (404)',
      ),
    session_hours: z
      .number()
      .int()
      .min(1)
      .max(168)
      .default(8)
      .describe('hours an admin login lasts (then the admin signs in again)'),
    login_attempts: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe('login attempts allowed per client IP per ten minutes (per node)'),
  })
  .prefault({});

/** The schema of `[plugin.quarantine]`. */
export const quarantineConfig = z.strictObject({
  reject: rejectSchema.describe('the reply at end of DATA when a message is held and its sender told'),
  scan: scanSchema.describe(
    'when the scanner runs: by default only when its answer can change the outcome (a filtered recipient, or our sender)',
  ),
  notice: noticeSchema.describe('notices sent to recipients and senders'),
  expire: expireSchema.describe('expiry of held mail and records'),
  learn: learnSchema.describe('teaching the scanners from what people decide'),
  admin: adminSchema.describe(
    'the admin page (/q/admin): look up senders and recipients, their settings and held mail; off unless htpasswd is set',
  ),
  special_recipients: z
    .array(addressOrDomain)
    .default([])
    .describe(
      'recipients (forwarding targets from .forward files and aliases) told about held mail in preference to the sender',
    ),
  popular_threshold: z
    .number()
    .int()
    .positive()
    .default(75)
    .describe(
      'after this many spammy messages to one recipient, that recipient is told instead of bouncing to each sender',
    ),
  free_passes: z
    .number()
    .int()
    .nonnegative()
    .default(3)
    .describe(
      'a spammy message that quotes one of our release links is let through this many times per held message (bounces of our own replies)',
    ),
  keep_every: z
    .number()
    .int()
    .nonnegative()
    .default(200)
    .describe(
      'for senders who chose "discard", keep every Nth spammy message anyway, for the record (0: never)',
    ),
  redirect_max_hops: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(10)
    .describe('redirects are followed this many hops at most; a loop is detected and stops'),
  trace_header: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'a header field name')
    .default('X-Smarthold-Redirected-For')
    .describe('header added to a redirected copy, naming the original recipient'),
});

/** The validated section. */
export type QuarantineConfig = z.output<typeof quarantineConfig>;
/** The section as written in TOML. */
export type QuarantineConfigInput = z.input<typeof quarantineConfig>;
