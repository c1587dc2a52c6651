/**
 * test-fake-spamd.ts — test doubles: a tiny spamd on 127.0.0.1 and in-memory messages.
 *
 * The fake reads one SPAMC request (head and Content-length octets) and
 * answers what the test's handler returns: a reply text, 'hang' (never
 * answer) or 'close' (drop the connection). It records every request. It is
 * not a SpamAssassin: it knows no rules. Not shipped (package.json files).
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import type { ScanMessage } from '@smarthold/core';

/** One request as the fake received it. */
export interface FakeRequest {
  readonly method: string;
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

/** A reply text, or 'hang' (never answer) or 'close' (drop the connection). */
export type FakeAnswer = string;

export interface FakeSpamd {
  readonly port: number;
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

/** Starts a fake spamd on an ephemeral loopback port. */
export async function startFakeSpamd(handler: (req: FakeRequest) => FakeAnswer): Promise<FakeSpamd> {
  const requests: FakeRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (answered || end < 0) return;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
      }
      const length = Number(headers.get('content-length') ?? 0);
      if (buf.length - end - 4 < length) return;
      answered = true;
      const req = {
        method: (lines[0] ?? '').split(' ')[0] ?? '',
        headers,
        body: buf.subarray(end + 4, end + 4 + length),
      };
      requests.push(req);
      const answer = handler(req);
      if (answer === 'hang') return;
      if (answer === 'close') socket.destroy();
      else socket.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A free loopback port with nothing listening (connection refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A message held in memory, streamed in small chunks; counts how often it was opened. */
export function memMessage(raw: Buffer | string, chunk = 7): ScanMessage & { opened: number } {
  const bytes = typeof raw === 'string' ? Buffer.from(raw) : raw;
  const msg = {
    size: bytes.length,
    opened: 0,
    openMessage(): Readable {
      msg.opened++;
      const parts: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
      return Readable.from(parts);
    },
  };
  return msg;
}

/** A spamd reply in the SPAMD/1.1 format. */
export function spamdReply(spam: string, body: string, code = '0 EX_OK'): string {
  return `SPAMD/1.1 ${code}\r\nContent-length: ${Buffer.byteLength(body)}\r\nSpam: ${spam}\r\n\r\n${body}`;
}

export { GTUBE } from '@smarthold/core';
