/**
 * delivery/mx.ts — the MX transport: direct delivery to each recipient domain's mail hosts.
 *
 * What it does:
 * - Groups a message's recipients by domain (IDN domains as A-labels, RFC 5890
 *   §2.3.2.1 / RFC 3492 Punycode, via `url.domainToASCII`; the RCPT TO carries
 *   the A-label) and sends each group over that domain's own connection pool
 *   (delivery/smtp-client.ts, `max_connections_per_domain`, connections reused).
 * - Looks up MX records itself, through an injectable {@link MxResolver}, so that
 *   it can tell the DNS answers apart (RFC 5321 §5.1):
 *     MX records          → hosts in preference order (equal preferences shuffled);
 *     no MX (NODATA)      → implicit MX: the domain itself, by its A/AAAA records;
 *     null MX (RFC 7505, a single `MX 0 .`) → bounced at once, 5.1.10;
 *     NXDOMAIN            → bounced, 5.1.2;
 *     SERVFAIL, timeout…  → deferred, 4.4.3.
 * - Hands mx-connect 1.6 the resolved MX list; mx-connect resolves the hosts'
 *   addresses through the same resolver (its `dnsOptions.resolve` hook), drops
 *   loopback/private/own addresses when `block_local_addresses` is on, and tries
 *   the hosts in preference order, falling back to the next one when a TCP
 *   connection fails. The socket it returns is given to nodemailer's
 *   SMTPConnection (`connection` option) by the pool. When a host's SMTP
 *   handshake fails (421/554 greeting, EHLO, STARTTLS) the pool asks again,
 *   skipping that address (mx-connect `ignoreMXHosts`), so the next MX gets its
 *   turn (two sessions per connection attempt, like Postfix's smtp_mx_session_limit).
 * - STARTTLS is opportunistic, and required for domains in `require_tls` (and
 *   their subdomains): when it is not offered the recipients are deferred and
 *   no MAIL/RCPT/DATA is sent in clear.
 *
 * Blocked addresses: when every address of every MX host is refused by
 * `block_local_addresses`, the recipients are *deferred* (4.4.4), not bounced.
 * The refusal is our own policy, not the recipient domain's answer, and the
 * usual causes (split-horizon DNS, an internal domain that lacks a
 * [[delivery.routes]] entry, a DNS change in flight) are fixed by the operator
 * without the sender having to resend; the reason names the setting, the queue
 * shows it, and `lifetime` still bounces the mail if nobody acts. (Postfix
 * bounces an MX that "loops back to myself"; we prefer not to lose mail over a
 * local setting.)
 *
 * What it does not do: MTA-STS and DANE (later); fall back to another MX after
 * the transaction began (a 4xx to MAIL/RCPT/DATA is that recipient's answer);
 * retry a failed TLS handshake in clear.
 */
import { createRequire } from 'node:module';
import { promises as dnsPromises } from 'node:dns';
import type { Socket } from 'node:net';
import { domainToASCII } from 'node:url';
import type { MxConfig } from '../config/schema.js';
import { NextHopError, SmtpPool, type ConnectedSocket } from './smtp-client.js';
import type { DeliveryJob, Transport, TransportResult } from './transport.js';

/** One MX record (as node:dns `resolveMx` gives it; the null MX has exchange "" or "."). */
export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

/**
 * Every DNS lookup of the MX transport goes through this. Errors carry node:dns
 * codes: ENOTFOUND (NXDOMAIN), ENODATA (no records of that type), ESERVFAIL,
 * ETIMEOUT, EREFUSED, ... Tests pass a fake; the default is node:dns.
 */
export interface MxResolver {
  resolveMx(domain: string): Promise<MxRecord[]>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

/** The system resolver (node:dns, c-ares, /etc/resolv.conf). */
export const systemResolver: MxResolver = {
  resolveMx: (d) => dnsPromises.resolveMx(d),
  resolve4: (h) => dnsPromises.resolve4(h),
  resolve6: (h) => dnsPromises.resolve6(h),
};

// mx-connect 1.6 ships no types: the part of its API used here.
interface MxConnectOptions {
  target: string;
  port: number;
  maxConnectTime: number;
  localHostname: string;
  mx: { exchange: string; priority: number }[];
  ignoreMXHosts: string[];
  dnsOptions: {
    ignoreIPv6: boolean;
    preferIPv6: boolean;
    blockLocalAddresses: boolean;
    resolve: (...args: unknown[]) => void;
  };
}
interface MxConnection {
  socket: Socket;
  hostname: string;
  host: string;
  port: number;
}
interface MxConnectError extends Error {
  code?: string;
  category?: string;
  temporary?: boolean;
}
type MxConnect = (o: MxConnectOptions) => Promise<MxConnection>;
let mxConnectFn: MxConnect | undefined;
/** mx-connect, loaded on first use (~9 MB: an instance that relays everything never needs it). */
function mxConnect(o: MxConnectOptions): Promise<MxConnection> {
  mxConnectFn ??= createRequire(import.meta.url)('mx-connect') as MxConnect;
  return mxConnectFn(o);
}

function dnsCode(err: unknown): string {
  return (err as { code?: string } | undefined)?.code ?? 'EUNKNOWN';
}

function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  const ms = deadline - Date.now();
  if (ms <= 0) return Promise.reject(Object.assign(new Error(`DNS timeout (${what})`), { code: 'ETIMEOUT' }));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`DNS timeout (${what})`), { code: 'ETIMEOUT' }));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** The recipient domain as used on the wire: lower case, no trailing dot, A-labels (RFC 5890, RFC 3492). */
export function asciiDomain(domain: string): string {
  const d = domain.trim().replace(/\.$/, '').toLowerCase();
  if (/^\[.*\]$/.test(d)) return d; // address literal, RFC 5321 §4.1.3
  return domainToASCII(d);
}

/** `a` is `domain` or one of its subdomains (both A-labels). */
export function withinDomain(a: string, domain: string): boolean {
  return a === domain || a.endsWith(`.${domain}`);
}

function shuffleEqualPreferences(list: MxRecord[]): MxRecord[] {
  const out = list.map((r) => ({ r, k: Math.random() }));
  // RFC 5321 §5.1: lowest preference first; hosts of equal preference in random order.
  out.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  return out.map((x) => x.r);
}

/** Options of the MX transport beyond [delivery.mx]. */
export interface MxTransportOptions {
  /** Our name in EHLO. */
  readonly ourName: string;
  readonly resolver?: MxResolver | undefined;
}

export class MxTransport implements Transport {
  readonly name = 'mx';
  private readonly pools = new Map<string, SmtpPool>();
  private readonly resolver: MxResolver;
  private readonly requireTls: string[];

  constructor(
    private readonly cfg: MxConfig,
    private readonly opts: MxTransportOptions,
  ) {
    this.resolver = opts.resolver ?? systemResolver;
    this.requireTls = cfg.require_tls.map((d) => asciiDomain(d.replace(/^\./, '')));
  }

  /**
   * The MX hosts of a domain, in preference order (RFC 5321 §5.1). Throws
   * NextHopError for the answers that decide the delivery without a connection.
   */
  async lookup(domain: string, deadline: number): Promise<{ hosts: MxRecord[]; implicit: boolean }> {
    const lit = /^\[(?:ipv6:)?(.*)\]$/i.exec(domain);
    if (lit?.[1]) return { hosts: [{ exchange: lit[1], priority: 0 }], implicit: true };
    let records: MxRecord[];
    try {
      records = await withDeadline(this.resolver.resolveMx(domain), deadline, `MX ${domain}`);
    } catch (err) {
      const code = dnsCode(err);
      if (code === 'ENOTFOUND')
        throw new NextHopError(`recipient domain ${domain} does not exist (DNS: NXDOMAIN)`, false, '5.1.2');
      if (code !== 'ENODATA')
        throw new NextHopError(
          `DNS lookup of the MX records of ${domain} failed (${code}); will retry`,
          true,
          '4.4.3',
        );
      records = [];
    }
    // RFC 5321 §5.1: no MX records → the domain itself is the implicit MX (its A/AAAA records).
    if (!records.length) return { hosts: [{ exchange: domain, priority: 0 }], implicit: true };
    const isNull = (r: MxRecord): boolean => r.exchange === '' || r.exchange === '.';
    // RFC 7505: a null MX ("MX 0 .") says the domain accepts no mail: never try to deliver.
    // A null MX mixed with real ones is a misconfiguration (RFC 7505 §3); the real ones are used.
    if (records.every(isNull)) {
      throw new NextHopError(
        `recipient domain ${domain} accepts no mail (null MX, RFC 7505)`,
        false,
        '5.1.10',
      );
    }
    return { hosts: shuffleEqualPreferences(records.filter((r) => !isNull(r))), implicit: false };
  }

  /** mx-connect's resolver hook (callback style, `resolve(name, [type], cb)`) over our resolver. */
  private dnsHook(deadline: number): (...args: unknown[]) => void {
    return (...args: unknown[]) => {
      const name = String(args[0]);
      const type = args.length > 2 ? String(args[1]) : 'A';
      const cb = args[args.length - 1] as (err: Error | null, list?: string[]) => void;
      const p =
        type === 'A'
          ? this.resolver.resolve4(name)
          : type === 'AAAA'
            ? this.resolver.resolve6(name)
            : Promise.reject(Object.assign(new Error(`unexpected lookup ${type}`), { code: 'ENOTIMP' }));
      withDeadline(p, deadline, `${type} ${name}`).then(
        (list) => {
          cb(null, list);
        },
        (err: unknown) => {
          cb(err instanceof Error ? err : new Error(String(err)));
        },
      );
    };
  }

  /** Looks up and connects to one of the domain's MX hosts, skipping the addresses in `avoid`. */
  async connect(domain: string, avoid: readonly string[] = []): Promise<ConnectedSocket> {
    const deadline = Date.now() + this.cfg.dns_timeout;
    const { hosts, implicit } = await this.lookup(domain, deadline);
    let c: MxConnection;
    try {
      c = await mxConnect({
        target: domain,
        port: this.cfg.port,
        maxConnectTime: this.cfg.connect_timeout,
        localHostname: this.opts.ourName,
        mx: hosts.map((h) => ({ exchange: h.exchange, priority: h.priority })),
        ignoreMXHosts: [...avoid],
        dnsOptions: {
          ignoreIPv6: this.cfg.ignore_ipv6,
          preferIPv6: false,
          blockLocalAddresses: this.cfg.block_local_addresses,
          resolve: this.dnsHook(deadline),
        },
      });
    } catch (err) {
      throw this.classify(domain, implicit, err as MxConnectError);
    }
    c.socket.setNoDelay(true);
    return {
      socket: c.socket,
      servername: c.hostname,
      relay: `${c.hostname}[${c.host}]:${c.port}`,
      address: c.host,
    };
  }

  private classify(domain: string, implicit: boolean, e: MxConnectError): NextHopError {
    const detail = e.message.replace(/\s+/g, ' ').trim();
    if (e.code === 'InvalidIpAddress') {
      // See the file header: our policy refused the address, so defer rather than bounce.
      return new NextHopError(
        `not connecting to the MX of ${domain}: its addresses are loopback, private or our own and [delivery.mx] block_local_addresses is on (${detail})`,
        true,
        '4.4.4',
      );
    }
    if (e.category === 'dns' && !e.temporary && e.code === 'ENOTFOUND') {
      return implicit
        ? new NextHopError(
            `recipient domain ${domain} has no MX and no address records (RFC 5321 §5.1)`,
            false,
            '5.1.2',
          )
        : new NextHopError(`the MX hosts of ${domain} have no address records (${detail})`, false, '5.4.4');
    }
    if (e.category === 'dns')
      return new NextHopError(
        `DNS lookup for the MX hosts of ${domain} failed; will retry (${detail})`,
        true,
        '4.4.3',
      );
    return new NextHopError(`no MX host of ${domain} could be reached (${detail})`, true, '4.4.1');
  }

  /** The require_tls entry that covers this domain (it or a parent), if any. */
  tlsRequiredBy(domain: string): string | undefined {
    return this.requireTls.find((d) => withinDomain(domain, d));
  }

  private pool(domain: string): SmtpPool {
    let p = this.pools.get(domain);
    if (!p) {
      const required = this.tlsRequiredBy(domain);
      p = new SmtpPool({
        host: domain,
        port: this.cfg.port,
        tls: required === undefined ? 'opportunistic' : 'required',
        tlsVerify: this.cfg.tls_verify,
        authUser: '',
        authPass: '',
        timeoutMs: this.cfg.timeout,
        name: this.opts.ourName,
        maxConnections: this.cfg.max_connections_per_domain,
        maxMessagesPerConnection: 100,
        connect: (avoid) => this.connect(domain, avoid),
        ...(required !== undefined ? { tlsRequiredBy: `[delivery.mx] require_tls lists ${required}` } : {}),
      });
      this.pools.set(domain, p);
    }
    return p;
  }

  async deliver(job: DeliveryJob): Promise<TransportResult[]> {
    // Recipients by A-label domain; the RCPT TO carries the A-label, results go back to the original address.
    const groups = new Map<string, { wire: string; original: string }[]>();
    const invalid: TransportResult[] = [];
    for (const original of job.to) {
      const at = original.lastIndexOf('@');
      const domain = at > 0 ? asciiDomain(original.slice(at + 1)) : '';
      if (!domain) {
        invalid.push({
          recipient: original,
          ok: false,
          temporary: false,
          reply: `bad recipient domain in ${original}`,
          dsn: '5.1.3',
          relay: 'none',
        });
        continue;
      }
      const list = groups.get(domain) ?? [];
      list.push({ wire: `${original.slice(0, at)}@${domain}`, original });
      groups.set(domain, list);
    }
    const sent = await Promise.all(
      [...groups].map(async ([domain, list]) => {
        const results = await this.pool(domain).send(
          job.from,
          list.map((r) => r.wire),
          () => job.openBody(),
          job.size,
        );
        return results.map((r, i) => ({ ...r, recipient: list[i]?.original ?? r.recipient }));
      }),
    );
    const byRecipient = new Map([...invalid, ...sent.flat()].map((r) => [r.recipient, r]));
    return job.to.flatMap((r) => byRecipient.get(r) ?? []);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
