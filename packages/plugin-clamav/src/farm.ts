/**
 * farm.ts — several clamd servers with failover, under one deadline.
 *
 * Servers are asked in the order listed (the first is the primary); one that
 * fails is marked down for `downMs` and asked only after the others until
 * then (still worth a last try). A server is left for the next when it
 * refuses or does not accept the connection, drops it, answers nonsense or
 * answers `... ERROR`. A message over clamd's StreamMaxLength is not retried
 * elsewhere (every clamd of a farm usually shares one config), and the
 * deadline, once passed, stops the scan: it does not move on. It does not
 * speak the protocol (connection.ts) or build verdicts (scanner.ts).
 */
import { serverLabel, type ClamdServer } from './config.js';
import { exchange, type ClamdRequest, type Connector } from './connection.js';
import { ClamavError } from './errors.js';
import type { ClamdReply } from './protocol.js';

/** Injected I/O: time, sockets, chunk size and a warning sink. */
export interface FarmDeps {
  readonly now?: () => number;
  readonly connector?: Connector;
  /** Data octets per INSTREAM chunk (tests make it small). */
  readonly chunkSize?: number;
  readonly warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/** A reply that says the message is clean or infected, and which server gave it. */
export type ScanAnswer = {
  readonly reply: Extract<ClamdReply, { kind: 'clean' | 'found' }>;
  readonly server: string;
};

export class ClamdFarm {
  private readonly downUntil = new Map<ClamdServer, number>();
  private readonly now: () => number;

  constructor(
    readonly servers: readonly ClamdServer[],
    private readonly opts: { connectTimeoutMs: number; downMs: number },
    private readonly deps: FarmDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** The order in which the next request would try the servers. */
  order(): ClamdServer[] {
    const now = this.now();
    const up = this.servers.filter((s) => (this.downUntil.get(s) ?? 0) <= now);
    const down = this.servers
      .filter((s) => (this.downUntil.get(s) ?? 0) > now)
      .sort((a, b) => (this.downUntil.get(a) ?? 0) - (this.downUntil.get(b) ?? 0));
    return [...up, ...down];
  }

  /**
   * Sends one request, failing over until a server answers or `timeoutMs`
   * has passed. The message is re-opened for each attempt. Throws
   * {@link ClamavError}: TIMEOUT, SIZE_LIMIT, or the last server's failure.
   */
  async run(req: ClamdRequest, timeoutMs: number): Promise<ScanAnswer> {
    const controller = new AbortController();
    const deadline = new ClamavError('SMARTHOLD_CLAMAV_TIMEOUT', `no clamd answered within ${timeoutMs} ms`);
    const timer = setTimeout(() => {
      controller.abort(deadline);
    }, timeoutMs);
    const attempts: string[] = [];
    let last: ClamavError | undefined;
    try {
      for (const server of this.order()) {
        if (controller.signal.aborted) break;
        const label = serverLabel(server);
        let failure: ClamavError;
        try {
          const reply = await exchange(server, req, {
            connectTimeoutMs: this.opts.connectTimeoutMs,
            signal: controller.signal,
            ...(this.deps.connector ? { connector: this.deps.connector } : {}),
            ...(this.deps.chunkSize ? { chunkSize: this.deps.chunkSize } : {}),
          });
          if (reply.kind === 'clean' || reply.kind === 'found') {
            this.downUntil.delete(server);
            return { reply, server: label };
          }
          if (reply.kind === 'size-limit') {
            throw new ClamavError(
              'SMARTHOLD_CLAMAV_SIZE_LIMIT',
              `${label}: clamd refused the stream (${reply.text}): max_size is above its StreamMaxLength; lower max_size or raise StreamMaxLength`,
              { server: label },
            );
          }
          failure = new ClamavError(
            'SMARTHOLD_CLAMAV_SERVER_ERROR',
            `${label}: clamd answered ${reply.text} ERROR`,
            {
              server: label,
            },
          );
        } catch (err) {
          if (err === deadline || !(err instanceof ClamavError) || !err.failover) throw err;
          failure = err;
        }
        last = failure;
        attempts.push(failure.message);
        this.downUntil.set(server, this.now() + this.opts.downMs);
        this.deps.warn?.('clamd failed; trying the next server', {
          server: label,
          code: failure.code,
          error: failure.message,
        });
      }
      if (controller.signal.aborted) throw deadline;
      if (!last) throw new ClamavError('SMARTHOLD_CLAMAV_CONNECT', 'no clamd server configured');
      throw new ClamavError(last.code, `no clamd answered (${attempts.join('; ')})`, { cause: last });
    } finally {
      clearTimeout(timer);
    }
  }
}
