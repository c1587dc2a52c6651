/**
 * farm.ts — a weighted farm of spamd servers with failover.
 *
 * Orders the servers for one request: those not marked down first, drawn at
 * random in proportion to their weight (weight 0 = backup, after the
 * weighted ones), then those marked down (still worth a last try). A server
 * that fails is marked down for `downMs`. `run` tries the servers in that
 * order until one answers, within one overall deadline: a deadline that
 * fires stops the farm, it does not move on to the next server.
 * It does not speak the protocol (connection.ts) or build verdicts (scanner.ts).
 */
import type { Readable } from 'node:stream';
import { serverLabel, type SpamdServer } from './config.js';
import { exchange, type Connector, type ExchangeRequest } from './connection.js';
import type { SpamdReply } from './protocol.js';

/**
 * sysexits.h codes that blame the request, not the server (EX_USAGE,
 * EX_DATAERR, EX_NOUSER, EX_PROTOCOL): another server would answer the same,
 * so these are returned to the caller. Any other non-zero code (EX_TEMPFAIL,
 * EX_UNAVAILABLE, EX_SOFTWARE, EX_IOERR…) means this server is unwell: fail over.
 */
const REQUEST_ERRORS = new Set([64, 65, 67, 76]);

/** Injected I/O: time, randomness, sockets and a warning sink. */
export interface FarmDeps {
  readonly now?: () => number;
  /** Uniform in [0, 1). */
  readonly random?: () => number;
  readonly connector?: Connector;
  readonly warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/** Thrown when no server answered; `attempts` lists each server's failure. */
export class FarmError extends Error {
  constructor(
    message: string,
    readonly attempts: readonly { server: string; error: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FarmError';
  }
}

/** Thrown (as the abort reason) when the whole request overran its deadline. */
export class FarmDeadlineError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'FarmDeadlineError';
  }
}

/**
 * Weighted random order without replacement. Pure apart from `random`.
 * @example weightedOrder([{weight: 3}, {weight: 1}], Math.random) // first is index 0 three times in four
 */
export function weightedOrder<T extends { readonly weight: number }>(
  items: readonly T[],
  random: () => number,
): T[] {
  const pool = items.filter((i) => i.weight > 0);
  const backups = items.filter((i) => i.weight <= 0);
  const out: T[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, i) => sum + i.weight, 0);
    let r = random() * total;
    let index = pool.length - 1;
    for (let k = 0; k < pool.length; k++) {
      r -= pool[k]?.weight ?? 0;
      if (r < 0) {
        index = k;
        break;
      }
    }
    out.push(...pool.splice(index, 1));
  }
  return [...out, ...backups];
}

export class SpamdFarm {
  private readonly downUntil = new Map<SpamdServer, number>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly servers: readonly SpamdServer[],
    private readonly opts: { connectTimeoutMs: number; downMs: number },
    private readonly deps: FarmDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /** The order in which the next request would try the servers. */
  order(): SpamdServer[] {
    const now = this.now();
    const up = this.servers.filter((s) => (this.downUntil.get(s) ?? 0) <= now);
    const down = this.servers
      .filter((s) => (this.downUntil.get(s) ?? 0) > now)
      .sort((a, b) => (this.downUntil.get(a) ?? 0) - (this.downUntil.get(b) ?? 0));
    return [...weightedOrder(up, this.random), ...down];
  }

  /**
   * Sends one request, failing over until a server answers or `timeoutMs`
   * has passed. The message is re-opened for each attempt.
   */
  async run(
    req: ExchangeRequest & { readonly message?: { readonly size: number; openMessage(): Readable } },
    timeoutMs: number,
  ): Promise<{ reply: SpamdReply; server: SpamdServer }> {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(new FarmDeadlineError(timeoutMs));
    }, timeoutMs);
    const attempts: { server: string; error: string }[] = [];
    let last: unknown;
    try {
      for (const server of this.order()) {
        if (controller.signal.aborted) break;
        try {
          const reply = await exchange(server, req, {
            connectTimeoutMs: this.opts.connectTimeoutMs,
            signal: controller.signal,
            ...(this.deps.connector ? { connector: this.deps.connector } : {}),
          });
          if (reply.code !== 0 && !REQUEST_ERRORS.has(reply.code)) {
            throw new Error(`spamd answered ${reply.code} ${reply.text}`.trim());
          }
          this.downUntil.delete(server);
          return { reply, server };
        } catch (err) {
          if (err instanceof FarmDeadlineError) throw err;
          last = err;
          const error = err instanceof Error ? err.message : String(err);
          attempts.push({ server: serverLabel(server), error });
          this.downUntil.set(server, this.now() + this.opts.downMs);
          this.deps.warn?.('spamd failed; trying the next server', { server: serverLabel(server), error });
        }
      }
      if (controller.signal.aborted) throw controller.signal.reason;
      const detail = attempts.map((a) => `${a.server}: ${a.error}`).join('; ');
      throw new FarmError(`no spamd answered (${detail})`, attempts, { cause: last });
    } finally {
      clearTimeout(timer);
    }
  }
}
