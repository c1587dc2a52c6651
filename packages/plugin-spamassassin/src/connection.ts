/**
 * connection.ts — one SPAMC exchange with one spamd over TCP or a Unix socket.
 *
 * Connects (with its own connect deadline), writes the request head, streams
 * the message from `openMessage()` with back-pressure and exactly
 * Content-length octets, reads the reply until spamd closes the connection
 * (or the announced Content-length has arrived) and parses it. It does not
 * choose servers or retry (farm.ts) and never buffers the message: only the
 * reply, capped at MAX_REPLY octets.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import { writeOrDrain } from '@smarthold/core';
import type { SpamdServer } from './config.js';
import {
  parseReply,
  replyComplete,
  requestHead,
  type RequestHeaders,
  type SpamcMethod,
  type SpamdReply,
} from './protocol.js';

/** Replies are a verdict and a rule list; anything larger is not spamd talking. */
const MAX_REPLY = 1024 * 1024;

/** Where in the exchange a failure happened: a `connect` failure never reached spamd. */
export type ExchangePhase = 'connect' | 'exchange';

/** A failed exchange; `phase` tells failover whether spamd saw the request. */
export class ExchangeError extends Error {
  constructor(
    message: string,
    readonly phase: ExchangePhase,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExchangeError';
  }
}

/** What one exchange sends. */
export interface ExchangeRequest {
  readonly method: SpamcMethod;
  readonly headers?: RequestHeaders;
  /** The message and its exact size, or none (PING). */
  readonly message?: { readonly size: number; openMessage(): Readable };
}

/** Opens a socket to a server; injectable so tests can count or refuse connections. */
export type Connector = (server: SpamdServer) => net.Socket;

export const defaultConnector: Connector = (server) =>
  server.kind === 'tcp'
    ? net.connect({ host: server.host, port: server.port })
    : net.connect({ path: server.path });

/**
 * Runs one request against one server. Rejects with {@link ExchangeError}
 * on connect failure (phase `connect`), on a reset, a short or long message
 * stream, or an unparseable reply (phase `exchange`), and with `signal`'s
 * reason when the caller's deadline fires.
 */
export function exchange(
  server: SpamdServer,
  req: ExchangeRequest,
  opts: { connectTimeoutMs: number; signal: AbortSignal; connector?: Connector },
): Promise<SpamdReply> {
  return new Promise<SpamdReply>((resolve, reject) => {
    const socket = (opts.connector ?? defaultConnector)(server);
    const chunks: Buffer[] = [];
    let received = 0;
    let connected = false;
    let settled = false;
    let body: Readable | undefined;

    const finish = (err: Error | undefined, reply?: SpamdReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      opts.signal.removeEventListener('abort', onAbort);
      body?.destroy();
      socket.destroy();
      if (err) reject(err);
      else if (reply) resolve(reply);
    };
    const fail = (message: string, cause?: unknown): void => {
      finish(new ExchangeError(message, connected ? 'exchange' : 'connect', { cause }));
    };
    const onAbort = (): void => {
      finish(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    };
    if (opts.signal.aborted) {
      onAbort();
      return;
    }
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const connectTimer = setTimeout(() => {
      if (!connected) fail(`connect timeout after ${opts.connectTimeoutMs} ms`);
    }, opts.connectTimeoutMs);

    const tryParse = (complete: boolean): void => {
      const buf = Buffer.concat(chunks);
      if (!complete && !replyComplete(buf)) return;
      if (buf.length === 0) {
        fail('spamd closed the connection without a reply');
        return;
      }
      try {
        finish(undefined, parseReply(buf, true));
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err), err);
      }
    };

    socket.setNoDelay(true);
    socket.on('error', (err) => {
      // spamd may answer an error and close before reading the whole body (EPIPE on our side).
      if (received > 0) tryParse(true);
      else fail(`${connected ? 'connection' : 'connect'} failed: ${err.message}`, err);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_REPLY) {
        fail(`reply larger than ${MAX_REPLY} octets`);
        return;
      }
      chunks.push(chunk);
      tryParse(false);
    });
    socket.on('end', () => {
      tryParse(true);
    });
    socket.on('close', () => {
      tryParse(true);
    });
    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      void send().catch((err: unknown) => {
        fail(`sending the message failed: ${err instanceof Error ? err.message : String(err)}`, err);
      });
    });

    const write = (data: Buffer): Promise<void> => writeOrDrain(socket, data);

    const send = async (): Promise<void> => {
      await write(requestHead(req.method, req.headers));
      if (req.message) {
        // Content-length promised spamd exactly `size` octets; sending more or
        // fewer would make it misread or wait, so check while streaming.
        const expected = req.message.size;
        let sent = 0;
        body = req.message.openMessage();
        for await (const chunk of body) {
          if (settled) return;
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
          sent += buf.length;
          if (sent > expected) throw new Error(`message stream longer than its size (${expected} octets)`);
          await write(buf);
        }
        if (sent !== expected) throw new Error(`message stream gave ${sent} octets, size says ${expected}`);
      }
      // Half-close: spamd reads to Content-length, and PING has no body at all.
      if (!settled) socket.end();
    };
  });
}
