/**
 * connection.ts — one clamd exchange (INSTREAM or PING) with one server.
 *
 * Connects over TCP or a Unix socket with its own connect deadline, sends
 * the command, streams the message as INSTREAM chunks with back-pressure
 * (never buffering it whole), ends it with the zero-length chunk and reads
 * clamd's NUL-terminated reply. clamd may answer before it has read
 * everything (`INSTREAM size limit exceeded`) and close: a reply that arrived
 * wins over the write error that follows. It does not choose servers or
 * retry (farm.ts), and sends nothing but INSTREAM and PING.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import { writeOrDrain, type ScanMessage } from '@smarthold/core';
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

/** The socket closed under a write: the connection's failure, not the message's. */
class WriteError extends Error {}

/** Opens a socket to a server; injectable so tests can count or refuse connections. */
export type Connector = (server: ClamdServer) => net.Socket;

export const defaultConnector: Connector = (server) =>
  server.kind === 'tcp'
    ? net.connect({ host: server.host, port: server.port })
    : net.connect({ path: server.path });

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
  const label = serverLabel(server);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  return new Promise<ClamdReply>((resolve, reject) => {
    const socket = (opts.connector ?? defaultConnector)(server);
    const chunks: Buffer[] = [];
    let received = 0;
    /** Message octets handed to the socket so far. */
    let sent = 0;
    let connected = false;
    let settled = false;
    let body: Readable | undefined;

    const finish = (err: Error | undefined, reply?: ClamdReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      opts.signal.removeEventListener('abort', onAbort);
      body?.destroy();
      socket.destroy();
      if (err) reject(err);
      else if (reply) resolve(reply);
    };
    const fail = (
      code: 'SMARTHOLD_CLAMAV_CONNECT' | 'SMARTHOLD_CLAMAV_PROTOCOL' | 'SMARTHOLD_CLAMAV_MESSAGE',
      message: string,
      cause?: unknown,
    ): void => {
      finish(new ClamavError(code, `${label}: ${message}`, { server: label, cause }));
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
      if (!connected) fail('SMARTHOLD_CLAMAV_CONNECT', `connect timeout after ${opts.connectTimeoutMs} ms`);
    }, opts.connectTimeoutMs);

    /** Settles when the reply is complete (or the connection ended: then whatever came is the reply). */
    const tryParse = (ended: boolean): void => {
      const { lines, complete } = replyLines(Buffer.concat(chunks));
      if (!ended && !complete) return;
      if (!lines.length) {
        if (ended) fail('SMARTHOLD_CLAMAV_PROTOCOL', 'clamd closed the connection without a reply');
        return;
      }
      if (req.kind === 'ping') {
        if (lines[0] === 'PONG') finish(undefined, { kind: 'clean' });
        else fail('SMARTHOLD_CLAMAV_PROTOCOL', `PING answered ${JSON.stringify(lines[0])}`);
        return;
      }
      try {
        finish(undefined, parseReply(lines));
      } catch (err) {
        fail('SMARTHOLD_CLAMAV_PROTOCOL', err instanceof Error ? err.message : String(err), err);
      }
    };

    socket.setNoDelay(true);
    /**
     * The connection broke after it opened. clamd answers "size limit exceeded"
     * and closes while we still write; closing with our data unread makes its
     * kernel reset the connection, and the reset may overtake the reply. So a
     * break in the middle of the message without a reply says so, and stays
     * an error: it is never taken for a clean scan.
     */
    const broken = (err: Error): void => {
      if (received > 0) tryParse(true);
      else if (req.kind === 'instream' && sent > 0)
        fail(
          'SMARTHOLD_CLAMAV_PROTOCOL',
          `clamd closed the connection after ${sent} of ${req.message.size} octets without a reply (${err.message}; is the message over its StreamMaxLength?)`,
          err,
        );
      else fail('SMARTHOLD_CLAMAV_PROTOCOL', `connection failed: ${err.message}`, err);
    };
    socket.on('error', (err) => {
      if (!connected) fail('SMARTHOLD_CLAMAV_CONNECT', `connect failed: ${err.message}`, err);
      else broken(err);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_REPLY) {
        fail('SMARTHOLD_CLAMAV_PROTOCOL', `reply larger than ${MAX_REPLY} octets`);
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
      send().catch((err: unknown) => {
        if (err instanceof ClamavError) finish(err);
        else broken(err instanceof Error ? err : new Error(String(err)));
      });
    });

    const write = (data: Buffer): Promise<void> =>
      writeOrDrain(socket, data, () => new WriteError('connection closed while writing'));

    const send = async (): Promise<void> => {
      if (req.kind === 'ping') {
        await write(PING_COMMAND);
        return;
      }
      await write(INSTREAM_COMMAND);
      const expected = req.message.size;
      const stream = req.message.openMessage();
      body = stream;
      try {
        for await (const chunk of stream) {
          if (settled) return;
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
          sent += buf.length;
          if (sent > expected) {
            throw new ClamavError(
              'SMARTHOLD_CLAMAV_MESSAGE',
              `message stream longer than its size (${expected} octets)`,
            );
          }
          for (const frame of frames(buf, chunkSize)) await write(frame);
        }
      } catch (err) {
        // A write that failed (clamd closed) is the socket's business; anything else is the spool's.
        if (err instanceof ClamavError || err instanceof WriteError || settled) throw err;
        throw new ClamavError(
          'SMARTHOLD_CLAMAV_MESSAGE',
          `reading the message failed: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      if (settled) return;
      // A short stream would make clamd scan a truncated message and call it clean.
      if (sent !== expected) {
        throw new ClamavError(
          'SMARTHOLD_CLAMAV_MESSAGE',
          `message stream gave ${sent} octets, size says ${expected}`,
        );
      }
      await write(END_OF_STREAM);
    };
  });
}
