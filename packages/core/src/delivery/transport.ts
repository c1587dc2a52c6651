/**
 * delivery/transport.ts — what a transport is.
 *
 * A transport takes one message (sender, recipients, body stream) to a next
 * hop and says, per recipient, what happened. It knows nothing of the queue:
 * the scheduler claims, calls a transport and records the results.
 */
import type { Readable } from 'node:stream';

/** The result for one recipient. `temporary` decides deferred vs bounced. */
export interface TransportResult {
  readonly recipient: string;
  readonly ok: boolean;
  readonly temporary: boolean;
  /** The next hop's reply, or the local reason. */
  readonly reply: string;
  /** Enhanced status code (from the reply, or ours). */
  readonly dsn: string;
  /** "host[ip]:port" of the next hop, or "none". */
  readonly relay: string;
}

/** One delivery job. */
export interface DeliveryJob {
  readonly queueId: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly size: number;
  openBody(): Readable;
}

export interface Transport {
  readonly name: string;
  deliver(job: DeliveryJob): Promise<TransportResult[]>;
  close(): Promise<void>;
}

/** Pulls the enhanced status code out of a reply line ("550 5.1.1 ..." → "5.1.1"). */
export function dsnOf(replyText: string, fallback: string): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(replyText.trim());
  return m?.[1] ?? fallback;
}

/** A transport for when no next hop is configured: everything stays deferred with a clear reason. */
export const noRouteTransport: Transport = {
  name: 'none',
  deliver(job) {
    return Promise.resolve(
      job.to.map((recipient) => ({
        recipient,
        ok: false,
        temporary: true,
        reply: 'no next hop configured ([delivery.relay] in smarthold.toml); mail stays queued',
        dsn: '4.4.0',
        relay: 'none',
      })),
    );
  },
  close: () => Promise.resolve(),
};
