/**
 * connection.ts — one clamd exchange (INSTREAM or PING) with one server.
 *
 * Sends the command, streams the message as INSTREAM chunks (never
 * buffering it whole), ends it with the zero-length chunk and reads clamd's
 * NUL-terminated reply; core's socketExchange does the socket's part
 * (connect deadline, abort, backpressure, the reply's cap, and a reply that
 * arrived winning over the write error after clamd answered `INSTREAM size
 * limit exceeded` and closed). This file turns its failures into
 * ClamavErrors. It does not choose servers or retry (farm.ts), and sends
 * nothing but INSTREAM and PING.
 */
import type net from 'node:net';
import {
  connectSocket,
  MessageLengthError,
  socketExchange,
  type ExchangeFailure,
  type ScanMessage,
} from '@smarthold/core';
import { serverLabel, type ClamdServer } from './config.js';
import { ClamavError } from './errors.js';
import {
  END_OF_STREAM,
  frames,
  INSTREAM_COMMAND,
  parseReply,
  PING_COMMAND,
  replyLines,
  type ClamdReply,
} from './protocol.js';

/** A verdict is one short line per signature; anything larger is not clamd talking. */
const MAX_REPLY = 64 * 1024;
/** Data octets per INSTREAM chunk: large writes, few syscalls, well under any StreamMaxLength. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** Opens a socket to a server; injectable so tests can count or refuse connections. */
export type Connector = (server: ClamdServer) => net.Socket;

/** What one exchange sends: a message to scan, or nothing (PING). */
export type ClamdRequest =
  { readonly kind: 'instream'; readonly message: ScanMessage } | { readonly kind: 'ping' };

export interface ExchangeOptions {
  readonly connectTimeoutMs: number;
  /** The caller's deadline; its reason is thrown when it fires. */
  readonly signal: AbortSignal;
  readonly connector?: Connector;
  readonly chunkSize?: number;
}

/**
 * Runs one request against one server. Resolves with clamd's reply (PING:
 * `{ kind: 'clean' }` for PONG); rejects with a {@link ClamavError}
 * (CONNECT, PROTOCOL, MESSAGE), or with `signal`'s reason when it fires.
 */
export function exchange(server: ClamdServer, req: ClamdRequest, opts: ExchangeOptions): Promise<ClamdReply> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  return socketExchange<ClamdReply>({
    connect: () => (opts.connector ?? connectSocket)(server),
    connectTimeoutMs: opts.connectTimeoutMs,
    signal: opts.signal,
    maxReply: MAX_REPLY,
    peer: 'clamd',
    async send(out) {
      if (req.kind === 'ping') {
        await out.write(PING_COMMAND);
        return;
      }
      await out.write(INSTREAM_COMMAND);
      // A short stream would make clamd scan a truncated message and call it clean: writeMessage refuses it.
      await out.writeMessage(req.message, (piece) => frames(piece, chunkSize));
      await out.write(END_OF_STREAM);
    },
    parse(reply, ended) {
      const { lines, complete } = replyLines(reply);
      if ((!ended && !complete) || !lines.length) return undefined;
      if (req.kind === 'instream') return parseReply(lines);
      if (lines[0] === 'PONG') return { kind: 'clean' };
      throw new Error(`PING answered ${JSON.stringify(lines[0])}`);
    },
    error: (failure) => clamavError(failure, serverLabel(server), req),
  });
}

/** A failed exchange as the plugin's error: the server's (CONNECT, PROTOCOL) or the message's (MESSAGE). */
function clamavError(f: ExchangeFailure, label: string, req: ClamdRequest): ClamavError {
  if (f.reason === 'send') {
    return f.cause instanceof MessageLengthError
      ? new ClamavError('SMARTHOLD_CLAMAV_MESSAGE', f.message)
      : new ClamavError('SMARTHOLD_CLAMAV_MESSAGE', `reading the message failed: ${f.message}`, {
          cause: f.cause,
        });
  }
  let message = f.message;
  // clamd answers "size limit exceeded" and closes while we still write, and
  // its reset may overtake the reply: a break in the middle of the message
  // says so, and stays an error, never taken for a clean scan.
  if (f.reason === 'broken' && req.kind === 'instream' && f.sent > 0) {
    const err = f.cause instanceof Error ? f.cause.message : String(f.cause);
    message = `clamd closed the connection after ${f.sent} of ${req.message.size} octets without a reply (${err}; is the message over its StreamMaxLength?)`;
  }
  const code = f.reason === 'connect' ? 'SMARTHOLD_CLAMAV_CONNECT' : 'SMARTHOLD_CLAMAV_PROTOCOL';
  return new ClamavError(code, `${label}: ${message}`, { server: label, cause: f.cause });
}
