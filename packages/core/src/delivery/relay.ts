/**
 * delivery/relay.ts — the relay transport: everything to one next hop.
 *
 * The configured `[delivery.relay]` host receives every message, over a pool
 * of reused connections (delivery/smtp-client.ts). STARTTLS is opportunistic,
 * required (defer rather than send in clear) or off.
 */
import type { RelayConfig } from '../config/schema.js';
import { SmtpPool } from './smtp-client.js';
import type { DeliveryJob, Transport, TransportResult } from './transport.js';

export class RelayTransport implements Transport {
  readonly name = 'relay';
  private readonly pool: SmtpPool;

  constructor(cfg: RelayConfig, ourName: string) {
    this.pool = new SmtpPool({
      host: cfg.host,
      port: cfg.port,
      tls: cfg.tls,
      tlsVerify: cfg.tls_verify,
      authUser: cfg.auth_user,
      authPass: cfg.auth_pass,
      timeoutMs: cfg.timeout,
      name: ourName,
      maxConnections: cfg.max_connections,
      maxMessagesPerConnection: cfg.max_messages_per_connection,
      tlsRequiredBy: '[delivery.relay] tls = "required"',
    });
  }

  deliver(job: DeliveryJob): Promise<TransportResult[]> {
    return this.pool.send(job.from, job.to, () => job.openBody(), job.size);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
