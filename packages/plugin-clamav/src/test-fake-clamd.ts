/**
 * test-fake-clamd.ts — test doubles: a tiny clamd on 127.0.0.1, closed ports, in-memory messages.
 *
 * The fake reads one `zINSTREAM\0` (or `zPING\0`), reassembles the chunks
 * until the zero-length one, records what it got and answers what the
 * test's handler returns: a reply text (NUL-terminated for it), 'hang'
 * (accept and never answer) or 'close' (drop the connection). It is not a
 * ClamAV: it knows no signatures. Not shipped (package.json files).
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import type { ScanMessage } from '@smarthold/core';

/** One request as the fake received it. */
export interface FakeRequest {
  readonly command: string;
  /** The reassembled stream (INSTREAM). */
  readonly data: Buffer;
  /** How many data chunks (not counting the terminator) carried it. */
  readonly chunks: number;
  /** The largest data chunk. */
  readonly maxChunk: number;
}

/** A reply text, or 'hang' (never answer) or 'close' (drop the connection). */
export type FakeAnswer = string;

export interface FakeClamd {
  port: number;
  readonly requests: FakeRequest[];
  /** Connections accepted, answered or not. */
  connections: number;
  close(): Promise<void>;
}

/** Starts a fake clamd on an ephemeral loopback port. */
export async function startFakeClamd(handler: (req: FakeRequest) => FakeAnswer): Promise<FakeClamd> {
  const requests: FakeRequest[] = [];
  const sockets = new Set<net.Socket>();
  const fake = { port: 0, requests, connections: 0, close: () => Promise.resolve() } as FakeClamd;
  const server = net.createServer((socket) => {
    fake.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let done = false;
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      const nul = buf.indexOf(0);
      if (nul < 0) return;
      const command = buf.subarray(0, nul).toString('latin1');
      let req: FakeRequest | undefined;
      if (command === 'zINSTREAM') {
        const parts: Buffer[] = [];
        let off = nul + 1;
        for (;;) {
          if (buf.length < off + 4) return;
          const len = buf.readUInt32BE(off);
          if (len === 0) break;
          if (buf.length < off + 4 + len) return;
          parts.push(buf.subarray(off + 4, off + 4 + len));
          off += 4 + len;
        }
        req = {
          command,
          data: Buffer.concat(parts),
          chunks: parts.length,
          maxChunk: Math.max(0, ...parts.map((x) => x.length)),
        };
      } else {
        req = { command, data: Buffer.alloc(0), chunks: 0, maxChunk: 0 };
      }
      done = true;
      requests.push(req);
      const answer = handler(req);
      if (answer === 'hang') return;
      if (answer === 'close') {
        socket.destroy();
        return;
      }
      socket.end(`${answer}\0`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.port = (server.address() as net.AddressInfo).port;
  fake.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => {
        resolve();
      });
    });
  return fake;
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => {
    srv.close(() => {
      resolve();
    });
  });
  return port;
}

/** A message held in memory, streamed in pieces of `piece` octets. */
export function memMessage(raw: Buffer, piece = 16 * 1024): ScanMessage {
  return {
    size: raw.length,
    openMessage: () => {
      const parts: Buffer[] = [];
      for (let o = 0; o < raw.length; o += piece) parts.push(raw.subarray(o, o + piece));
      return Readable.from(parts);
    },
  };
}

/** The EICAR anti-virus test file (68 octets). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
/** The marker scripts/services/clamd.sh adds as the signature Smarthold.Test.Marker. */
export const TEST_MARKER = 'SMARTHOLD-CLAMAV-TEST-SIGNATURE-7d1c3e';

/** A small mail with `body` as its text. */
export function mail(body: string, subject = 'Quarterly planning notes'): Buffer {
  return Buffer.from(
    [
      'From: Alice Example <alice@example.com>',
      'To: Bob Example <bob@example.org>',
      `Subject: ${subject}`,
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      'Message-ID: <clamav-test@example.com>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}

/** A multipart mail with EICAR as a base64 attachment (clamd must decode MIME to find it). */
export function eicarAttachment(): Buffer {
  const b64 = Buffer.from(EICAR).toString('base64');
  return Buffer.from(
    [
      'From: Alice Example <alice@example.com>',
      'To: Bob Example <bob@example.org>',
      'Subject: the report',
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      'Message-ID: <clamav-attachment@example.com>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Please find the report attached.',
      '--b1',
      'Content-Type: application/octet-stream; name="report.com"',
      'Content-Disposition: attachment; filename="report.com"',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--b1--',
      '',
    ].join('\r\n'),
  );
}
