/**
 * delivery/router.ts — which transport takes which recipient.
 *
 * The routing transport splits a message's recipients by the transport their
 * domain goes to, hands each transport its share (the MX transport splits
 * further by domain), and merges the per-recipient results back into the
 * message's recipient order. The choice per recipient domain:
 *   1. the first `[[delivery.routes]]` entry whose `domains` match: an entry
 *      `example.org` matches that domain only, `.example.org` its subdomains
 *      only (as in Postfix transport maps; list both for both);
 *   2. otherwise the default: `relay` when `[delivery.relay]` is set, else `mx`.
 * Domains are compared as lower-case A-labels (RFC 5890), so an IDN written
 * either way matches.
 *
 * It does not deliver anything itself, retry, or look at DNS. A route to
 * `relay` without `[delivery.relay]` is a configuration error, reported at
 * start-up ({@link checkRoutes}).
 */
import { checkRoutes } from '../config/checks.js';
import type { Config, RouteConfig } from '../config/schema.js';
import { MxTransport, asciiDomain, type MxResolver } from './mx.js';
import { RelayTransport } from './relay.js';
import type { DeliveryJob, Transport, TransportResult } from './transport.js';

type TransportName = RouteConfig['transport'];

/** Throws SMARTHOLD_CONFIG_INVALID (key `delivery.routes`) for a route that names a transport that is not configured. */
export { checkRoutes };

/** `domain` (an A-label) matches a route entry: exact, or ".parent" for subdomains of parent. */
export function routeMatches(domain: string, entry: string): boolean {
  if (entry.startsWith('.')) {
    const parent = asciiDomain(entry.slice(1));
    return domain.endsWith(`.${parent}`);
  }
  return domain === asciiDomain(entry);
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at > 0 ? asciiDomain(address.slice(at + 1)) : '';
}

export class RoutingTransport implements Transport {
  readonly name = 'router';

  constructor(
    private readonly routes: readonly RouteConfig[],
    private readonly transports: Readonly<Partial<Record<TransportName, Transport>>>,
    private readonly fallback: TransportName,
  ) {}

  /** The transport name for a recipient domain (A-label). */
  pick(domain: string): TransportName {
    for (const r of this.routes) if (r.domains.some((e) => routeMatches(domain, e))) return r.transport;
    return this.fallback;
  }

  async deliver(job: DeliveryJob): Promise<TransportResult[]> {
    const shares = new Map<TransportName, string[]>();
    for (const rcpt of job.to) {
      const name = this.pick(domainOf(rcpt));
      const list = shares.get(name) ?? [];
      list.push(rcpt);
      shares.set(name, list);
    }
    const parts = await Promise.all(
      [...shares].map(async ([name, to]): Promise<TransportResult[]> => {
        const t = this.transports[name];
        if (!t) {
          // checkRoutes rules this out at start-up; kept as a clear deferral rather than a crash.
          return to.map((recipient) => ({
            recipient,
            ok: false,
            temporary: true,
            reply: `transport "${name}" is not configured`,
            dsn: '4.3.5',
            relay: 'none',
          }));
        }
        return t.deliver({
          queueId: job.queueId,
          from: job.from,
          to,
          size: job.size,
          openBody: () => job.openBody(),
        });
      }),
    );
    const byRecipient = new Map(parts.flat().map((r) => [r.recipient, r]));
    return job.to.flatMap((r) => byRecipient.get(r) ?? []);
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.transports).map((t) => t.close()));
  }
}

/** Options for {@link createTransport}. */
export interface CreateTransportOptions {
  /** Our name in EHLO. */
  readonly ourName: string;
  /** DNS for the MX transport (tests inject a fake). */
  readonly resolver?: MxResolver | undefined;
}

/**
 * The transport for a configuration: a router over the relay (when configured)
 * and MX delivery. Throws SMARTHOLD_CONFIG_INVALID for a route to an unconfigured relay.
 */
export function createTransport(config: Config, opts: CreateTransportOptions): RoutingTransport {
  const d = config.delivery;
  checkRoutes(d);
  const fallback: TransportName = d.relay ? 'relay' : 'mx';
  const used = new Set<TransportName>([fallback, ...d.routes.map((r) => r.transport)]);
  const transports: Partial<Record<TransportName, Transport>> = {};
  if (d.relay && used.has('relay')) transports.relay = new RelayTransport(d.relay, opts.ourName);
  if (used.has('mx'))
    transports.mx = new MxTransport(d.mx, { ourName: opts.ourName, resolver: opts.resolver });
  return new RoutingTransport(d.routes, transports, fallback);
}
