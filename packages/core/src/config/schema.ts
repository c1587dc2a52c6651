/**
 * config/schema.ts — the core configuration schema (smarthold.toml).
 *
 * Each key has a default and a description; `smarthold init`, `config show`
 * and docs/reference/config.md are generated from this schema, so the text
 * here is what operators read. Plugin sections (`[plugin.NAME]`) are validated
 * by each plugin's own schema, not here.
 */
import { z } from 'zod';
import { cidrList, duration, hostPort } from './types.js';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

const smtpAuthUser = z.strictObject({
  name: z.string().min(1).describe('user name for SMTP AUTH'),
  hash: z
    .string()
    .regex(/^\$(argon2id|2[aby])\$/, 'must be an argon2id ($argon2id$...) or bcrypt ($2b$...) hash')
    .describe('password hash: argon2id or bcrypt'),
});

const smtpSchema = z
  .strictObject({
    listen: z
      .array(hostPort)
      .prefault(['127.0.0.1:2525'])
      .describe('addresses to accept SMTP on (plain, STARTTLS when a certificate is set)'),
    listen_tls: z
      .array(hostPort)
      .prefault([])
      .describe('addresses for implicit TLS (SMTPS, port 465 style); needs tls_cert'),
    hostname: z
      .string()
      .default('')
      .describe('name used in the greeting and Received lines; empty means the system host name'),
    tls_cert: z.string().default('').describe('PEM certificate file; STARTTLS is offered only when set'),
    tls_key: z.string().default('').describe('PEM private key file for tls_cert'),
    relay_networks: cidrList
      .default(LOOPBACK)
      .describe('clients in these networks may relay; others must authenticate or get 554 5.7.1'),
    auth_users: z
      .array(smtpAuthUser)
      .default([])
      .describe('SMTP AUTH users (PLAIN, LOGIN); authenticated clients may relay'),
    auth_allow_insecure: z
      .boolean()
      .default(false)
      .describe('allow AUTH without TLS (only sensible on loopback)'),
    greeting_pause: duration('100ms').describe(
      'pause before the 220 greeting for clients outside relay_networks (early-talker check); relay_networks get none',
    ),
    max_message_size: z
      .number()
      .int()
      .positive()
      .default(52_428_800)
      .describe('largest message in octets (advertised with SIZE; 552 5.3.4 beyond)'),
    max_recipients: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('recipients per message (452 4.5.3 beyond)'),
    max_connections: z
      .number()
      .int()
      .positive()
      .default(500)
      .describe('simultaneous connections in total (421 4.7.0 beyond)'),
    max_connections_per_ip: z
      .number()
      .int()
      .positive()
      .default(50)
      .describe('simultaneous connections from one address outside relay_networks (421 4.7.0 beyond)'),
    max_line_length: z.number().int().min(512).default(4096).describe('longest command line in octets'),
    socket_timeout: duration('5m').describe('idle time allowed between client commands'),
    hook_timeout: duration('30s').describe(
      'deadline for one plugin hook; overrun gives 451 4.4.5 unless the hook says otherwise',
    ),
    data_timeout: duration('10m').describe(
      'deadline for the whole DATA phase, from DATA to the reply (421 4.4.2 beyond)',
    ),
    bare_newlines: z
      .enum(['normalize', 'reject'])
      .default('normalize')
      .describe('bare LF or bare CR in the message: normalize to CRLF, or reject with 550 5.5.2'),
    address_literals: z.boolean().default(false).describe('accept address literals such as user@[192.0.2.1]'),
    received_header: z
      .boolean()
      .default(true)
      .describe('add an RFC 5321 Received line to each accepted message'),
    max_received_headers: z
      .number()
      .int()
      .positive()
      .default(100)
      .describe('more Received lines than this means a loop: 554 5.4.6'),
    queue_min_free: z
      .number()
      .int()
      .nonnegative()
      .default(104_857_600)
      .describe(
        'free octets the store directory must keep; below it MAIL gets 452 4.3.1 (Postfix queue_minfree)',
      ),
  })
  .prefault({});

const relaySchema = z.strictObject({
  host: z.string().min(1).describe('next-hop host name or address'),
  port: z.number().int().min(1).max(65535).default(25).describe('next-hop port'),
  tls: z
    .enum(['opportunistic', 'required', 'none', 'implicit'])
    .default('opportunistic')
    .describe('STARTTLS when offered, STARTTLS or defer, never, or TLS from the first byte'),
  tls_verify: z.boolean().default(false).describe('verify the next hop certificate'),
  auth_user: z.string().default('').describe('user for SMTP AUTH at the next hop (empty: no AUTH)'),
  auth_pass: z.string().default('').describe('password for auth_user'),
  max_connections: z.number().int().positive().default(10).describe('connections kept open to the next hop'),
  max_messages_per_connection: z
    .number()
    .int()
    .positive()
    .default(100)
    .describe('messages sent over one connection before it is closed'),
  timeout: duration('2m').describe(
    'deadline for one command reply from the next hop (the final dot included)',
  ),
});

const mxSchema = z
  .strictObject({
    port: z.number().int().min(1).max(65535).default(25).describe('port of the MX hosts'),
    require_tls: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'recipient domains (and their subdomains) that must get STARTTLS; without it their mail is deferred, never sent in clear',
      ),
    tls_verify: z
      .boolean()
      .default(false)
      .describe('verify MX certificates (most MX hosts have none that verify)'),
    max_connections_per_domain: z
      .number()
      .int()
      .positive()
      .default(5)
      .describe('connections open at once to one recipient domain'),
    connect_timeout: duration('30s').describe('deadline for connecting to one MX host'),
    timeout: duration('5m').describe(
      'deadline for one command reply from an MX host (the final dot included)',
    ),
    dns_timeout: duration('30s').describe('deadline for the MX and address lookups of one domain'),
    ignore_ipv6: z.boolean().default(false).describe('never deliver over IPv6'),
    block_local_addresses: z
      .boolean()
      .default(true)
      .describe(
        'refuse MX hosts that resolve to loopback, private or our own addresses (turn off only for tests)',
      ),
  })
  .prefault({});

const routeSchema = z.strictObject({
  domains: z
    .array(z.string().min(1))
    .min(1)
    .describe('recipient domains; ".example.org" also matches its subdomains'),
  transport: z.enum(['relay', 'mx']).describe('how mail to these domains leaves'),
});

const dsnSchema = z
  .strictObject({
    from: z
      .string()
      .default('')
      .describe('sender of delivery status notifications; empty means MAILER-DAEMON@hostname'),
    delay_warning: duration('0s').describe(
      'warn the sender once a recipient has been deferred this long (0: never)',
    ),
  })
  .prefault({});

const deliverySchema = z
  .strictObject({
    relay: relaySchema
      .optional()
      .describe('the next hop; when set it is the default transport, otherwise direct MX delivery is'),
    mx: mxSchema.describe("direct delivery to the recipient domain's MX hosts"),
    routes: z
      .array(routeSchema)
      .default([])
      .describe('per-domain choice of transport, first match wins: [[delivery.routes]]'),
    dsn: dsnSchema.describe('delivery status notifications (bounces) to senders'),
    concurrency: z.number().int().positive().default(20).describe('messages delivered at the same time'),
    poll_interval: duration('1s').describe(
      'how often the queue is checked for due mail (new mail starts at once)',
    ),
    retry_min: duration('5m').describe('first retry delay; doubles each attempt'),
    retry_max: duration('1h').describe('largest retry delay'),
    lifetime: duration('5d').describe('after this long in the queue a deferred recipient bounces'),
    lease: duration('10m').describe(
      'a claimed delivery not finished after this long is retried (crash recovery)',
    ),
  })
  .prefault({});

const httpSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('run the HTTP listener (/health, /metrics, plugin pages)'),
    listen: hostPort.prefault('127.0.0.1:8025').describe('address of the HTTP listener'),
    public_url: z
      .string()
      .default('')
      .describe('URL by which users reach the pages (for links in mail); empty: http://listen'),
  })
  .prefault({});

const storeSchema = z
  .strictObject({
    dir: z
      .string()
      .default('./var')
      .describe('directory for the queue database and message spool (relative to the config file)'),
    database: z
      .string()
      .default('')
      .refine((v) => v === '' || /^(postgres(ql)?|mysql):\/\//.test(v), {
        message: 'must be empty (the local SQLite file), a postgres:// or a mysql:// URL',
      })
      .describe(
        'where plugins keep their tables (quarantine records, preferences): empty for the local SQLite file, or a postgres:// (PostgreSQL) or mysql:// (MySQL 8, MariaDB 10.11+) URL so that several nodes share them; the queue itself stays in the local store',
      ),
    keep_finished: duration('7d').describe(
      'how long the records of a finished message (every recipient delivered, bounced or discarded) are kept after its last change, for explain and queue show; "0s" keeps them for ever',
    ),
    inline_max_size: z
      .number()
      .int()
      .min(0)
      .max(256 * 1024)
      .default(256 * 1024)
      .describe(
        'largest message (octets) whose body is stored in the queue database with its records, when it goes to delivery: one fsync of the write-ahead log for both and no spool file; larger ones and held ones are spool files. 0: always spool files',
      ),
    directory_fsync: z
      .enum(['auto', 'always'])
      .default('auto')
      .describe(
        'when a new spool file\'s directory is fsync\'d too: "auto" skips it on ext2/3/4, XFS and btrfs, whose fsync of a new file makes its name durable as well; "always" does it on every file system',
      ),
  })
  .prefault({});

const logSchema = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('log level'),
  })
  .prefault({});

const scanningSchema = z
  .strictObject({
    policy: z
      .enum(['any', 'all', 'weighted'])
      .default('any')
      .describe(
        'with several scanner plugins: spam when any says so, when all do, or when the weighted mean of score/threshold reaches 1',
      ),
    weights: z
      .record(z.string(), z.number().nonnegative())
      .default({})
      .describe('weights by scanner name for the weighted policy (default 1)'),
  })
  .prefault({});

/** The plugins a config that names none loads: the product's main job with no setup. */
export const DEFAULT_PLUGINS: readonly string[] = ['sender-auth', 'bayes', 'quarantine'];

/** The whole configuration. */
export const configSchema = z.strictObject({
  smtp: smtpSchema.describe('SMTP ingress'),
  delivery: deliverySchema.describe('delivery to the next hop'),
  http: httpSchema.describe('HTTP listener'),
  store: storeSchema.describe('the queue store'),
  log: logSchema.describe('logging'),
  scanning: scanningSchema.describe('how several spam scanners are combined'),
  plugins: z
    .array(z.string().min(1))
    .default([...DEFAULT_PLUGINS])
    .describe(
      'plugins to load: short name, package name or path (the order follows what each requires); the default runs the quarantine with the Bayes scanner',
    ),
  plugin: z
    .record(z.string(), z.record(z.string(), z.unknown()))
    .default({})
    .describe('one section per plugin: [plugin.NAME]'),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type RelayConfig = z.output<typeof relaySchema>;
export type MxConfig = z.output<typeof mxSchema>;
export type DsnConfig = z.output<typeof dsnSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
