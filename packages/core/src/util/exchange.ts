/**
 * util/exchange.ts — one request and its reply over a fresh socket, settled once.
 *
 * The clients of scanner daemons that speak their own protocol over TCP or a
 * Unix socket (clamd, spamd) each open a connection, write a request (often
 * a whole message, streamed with backpressure and exactly its size) and read
 * the reply until it is complete or the server closes. This is the part they
 * share: a connect deadline of its own, the caller's AbortSignal, the reply
 * collected up to a maximum, writes that wait for 'drain', and a reply that
 * arrived winning over the write error that follows when a server answers
 * early and closes. It knows no protocol (the caller says what to send, when
 * a reply is complete and what it means) and no error catalog (the caller
 * turns each {@link ExchangeFailure} into its own error). It does not retry,
 * choose servers, or keep connections.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import { writeOrDrain } from './drain.js';

/** Where a daemon listens: TCP host and port, or a Unix socket path (core's ScanServerAddress fits). */
export type SocketAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/**
 * Opens a socket to `address`: the connector a client uses unless a test
 * injects its own.
 *
 * @example
 * socketExchange({ connect: () => connectSocket({ kind: 'unix', path: '/run/clamav/clamd.ctl' }), ... })
 */
export function connectSocket(address: SocketAddress): net.Socket {
  return address.kind === 'tcp'
    ? net.connect({ host: address.host, port: address.port })
    : net.connect({ path: address.path });
}

/** A message to stream: its exact size and a fresh stream of its octets (core's ScanMessage fits). */
export interface ExchangeMessage {
  readonly size: number;
  openMessage(): Readable;
}

/**
 * The message stream gave more octets than its size, or fewer: the message's
 * trouble, not the server's. Sending it anyway would make the server misread
 * the request or scan a truncated message.
 */
export class MessageLengthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageLengthError';
  }
}

/** How `send` writes the request. */
export interface ExchangeOutput {
  /** Writes with backpressure; rejects once the connection has closed or the exchange is over. */
  write(data: Buffer): Promise<void>;
  /**
   * Streams the message, each piece through `encode` (default: as it is),
   * and checks that it gave exactly `size` octets: throws
   * {@link MessageLengthError} when not. A failing stream's error propagates.
   */
  writeMessage(message: ExchangeMessage, encode?: (piece: Buffer) => Iterable<Buffer>): Promise<void>;
  /** Half-closes the connection: the server reads to the end of the request. */
  end(): void;
}

/** Why an exchange failed. */
export type ExchangeFailureReason =
  /** Not connected within the deadline, or refused: the server never saw the request. */
  | 'connect'
  /** The connection broke after it opened, before any reply octet arrived. */
  | 'broken'
  /** The server closed the connection without a (complete) reply. */
  | 'no-reply'
  /** The reply grew over `maxReply` octets. */
  | 'too-large'
  /** `parse` threw: the reply is not the server's protocol. */
  | 'reply'
  /** `send` threw (the message stream failed, or gave the wrong length: a {@link MessageLengthError}). */
  | 'send';

/** A failed exchange, for the caller to turn into an error of its own catalog. */
export interface ExchangeFailure {
  readonly reason: ExchangeFailureReason;
  /**
   * In words: "connect timeout after 2000 ms", "connect failed: …",
   * "connection failed: …", "clamd closed the connection without a reply",
   * "reply larger than 65536 octets", or the message of what `parse` or
   * `send` threw.
   */
  readonly message: string;
  /** Message octets written before the failure (writeMessage). */
  readonly sent: number;
  readonly cause?: unknown;
}

/** One exchange: where to connect, what to send, how to read the reply. */
export interface SocketExchange<T> {
  /** Opens the socket, e.g. `() => connectSocket(server)`; injectable so tests can refuse or count. */
  readonly connect: () => net.Socket;
  readonly connectTimeoutMs: number;
  /** The caller's deadline: when it fires, the exchange ends and rejects with its reason. */
  readonly signal: AbortSignal;
  /** Reply octets beyond which the peer is not the daemon we think it is. */
  readonly maxReply: number;
  /** The server's name in failure texts ("clamd", "spamd"). */
  readonly peer: string;
  /** Writes the request, once connected. */
  send(out: ExchangeOutput): Promise<void>;
  /**
   * The reply so far, at each arrival and once more when the server closed
   * (`ended`: what came is all there is). Returns the result, or undefined
   * while the reply is incomplete (at `ended`: there was none). Throws when
   * the octets are not a reply.
   */
  parse(reply: Buffer, ended: boolean): T | undefined;
  /** Turns a failure into the caller's error (its codes, its server label). */
  error(failure: ExchangeFailure): Error;
}

/** A write failed because the connection closed: the connection's failure, not the request's. */
class ClosedWhileWriting extends Error {
  constructor() {
    super('connection closed while writing');
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * Connects, sends the request and reads the reply. Resolves with what
 * `parse` made of it; rejects with what `error` made of a failure, or with
 * `signal`'s reason when it fires first. Settles once; then the socket and
 * the message stream are destroyed.
 *
 * @example
 * const pong = await socketExchange({
 *   connect: () => connectSocket({ kind: 'tcp', host: '127.0.0.1', port: 3310 }),
 *   connectTimeoutMs: 2000, signal: AbortSignal.timeout(5000), maxReply: 1024, peer: 'clamd',
 *   send: (out) => out.write(Buffer.from('zPING\0')),
 *   parse: (reply, ended) => (ended || reply.includes(0) ? reply.toString('latin1') : undefined),
 *   error: (f) => new Error(`clamd: ${f.message}`),
 * });
 */
export function socketExchange<T>(x: SocketExchange<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { signal } = x;
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const socket = x.connect();
    const chunks: Buffer[] = [];
    let received = 0;
    let sent = 0;
    let connected = false;
    let settled = false;
    let body: Readable | undefined;

    const finish = (err: Error | undefined, result?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      signal.removeEventListener('abort', onAbort);
      body?.destroy();
      socket.destroy();
      if (err) reject(err);
      else resolve(result as T);
    };
    const fail = (reason: ExchangeFailureReason, message: string, cause?: unknown): void => {
      if (settled) return;
      finish(x.error({ reason, message, sent, ...(cause === undefined ? {} : { cause }) }));
    };
    const onAbort = (): void => {
      finish(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const connectTimer = setTimeout(() => {
      if (!connected) fail('connect', `connect timeout after ${x.connectTimeoutMs} ms`);
    }, x.connectTimeoutMs);

    /** Settles when the reply is complete, or the connection ended: then whatever came is the reply. */
    const conclude = (ended: boolean): void => {
      if (settled) return;
      let result: T | undefined;
      try {
        result = received > 0 ? x.parse(Buffer.concat(chunks), ended) : undefined;
      } catch (err) {
        fail('reply', messageOf(err), err);
        return;
      }
      if (result !== undefined) finish(undefined, result);
      else if (ended) fail('no-reply', `${x.peer} closed the connection without a reply`);
    };
    /**
     * The connection broke after it opened. A server that refuses a request
     * (too large, not allowed) may answer and close while we still write;
     * closing with our data unread makes its kernel reset the connection. A
     * reply that arrived wins over the write error; without one, it is a
     * failure, never taken for an answer.
     */
    const broken = (err: Error): void => {
      if (received > 0) conclude(true);
      else fail('broken', `connection failed: ${err.message}`, err);
    };

    socket.setNoDelay(true);
    socket.on('error', (err) => {
      if (!connected) fail('connect', `connect failed: ${err.message}`, err);
      else broken(err);
    });
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received > x.maxReply) {
        fail('too-large', `reply larger than ${x.maxReply} octets`);
        return;
      }
      chunks.push(chunk);
      conclude(false);
    });
    socket.on('end', () => {
      conclude(true);
    });
    socket.on('close', () => {
      conclude(true);
    });

    const write = (data: Buffer): Promise<void> =>
      settled
        ? Promise.reject(new ClosedWhileWriting())
        : writeOrDrain(socket, data, () => new ClosedWhileWriting());
    const out: ExchangeOutput = {
      write,
      async writeMessage(message, encode = (piece) => [piece]) {
        const expected = message.size;
        const stream = message.openMessage();
        body = stream;
        for await (const chunk of stream) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
          sent += buf.length;
          if (sent > expected)
            throw new MessageLengthError(`message stream longer than its size (${expected} octets)`);
          for (const part of encode(buf)) await write(part);
        }
        if (settled) return;
        if (sent !== expected)
          throw new MessageLengthError(`message stream gave ${sent} octets, size says ${expected}`);
      },
      end() {
        if (!settled) socket.end();
      },
    };
    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      x.send(out).catch((err: unknown) => {
        if (err instanceof ClosedWhileWriting) broken(err);
        else fail('send', messageOf(err), err);
      });
    });
  });
}
