/**
 * connection.ts — one SPAMC exchange with one spamd over TCP or a Unix socket.
 *
 * Writes the request head, streams the message from `openMessage()` with
 * exactly Content-length octets, half-closes, and parses the reply once
 * spamd closes the connection (or the announced Content-length has
 * arrived); core's socketExchange does the socket's part (connect deadline,
 * abort, backpressure, the reply's cap at MAX_REPLY octets, a reply that
 * arrived winning over the write error after spamd answered early). It does
 * not choose servers or retry (farm.ts) and never buffers the message.
 */
import type net from 'node:net';
import type { Readable } from 'node:stream';
import { connectSocket, socketExchange } from '@smarthold/core';
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
  return socketExchange<SpamdReply>({
    connect: () => (opts.connector ?? connectSocket)(server),
    connectTimeoutMs: opts.connectTimeoutMs,
    signal: opts.signal,
    maxReply: MAX_REPLY,
    peer: 'spamd',
    async send(out) {
      await out.write(requestHead(req.method, req.headers));
      // Content-length promised spamd exactly `size` octets; writeMessage refuses more or fewer.
      if (req.message) await out.writeMessage(req.message);
      // Half-close: spamd reads to Content-length, and PING has no body at all.
      out.end();
    },
    parse: (reply, ended) => (ended || replyComplete(reply) ? parseReply(reply, true) : undefined),
    error: (f) =>
      new ExchangeError(
        f.reason === 'send' ? `sending the message failed: ${f.message}` : f.message,
        f.reason === 'connect' ? 'connect' : 'exchange',
        { cause: f.cause },
      ),
  });
}
