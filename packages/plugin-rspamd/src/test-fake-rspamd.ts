/**
 * test-fake-rspamd.ts — test doubles: a tiny rspamd over node:http and in-memory messages.
 *
 * The fake records each request (path, headers, body) and answers what the
 * test's handler returns: `{ status, body }`, 'hang' (never answer) or
 * 'close' (drop the connection). It knows no rules. Not shipped.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { ScanMessage } from '@smarthold/core';

export interface FakeRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Raw header lines, to see repeated `Rcpt` headers. */
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

export type FakeAnswer = { status?: number; body: unknown } | 'hang' | 'close';

export interface FakeRspamd {
  readonly url: string;
  readonly requests: FakeRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startFakeRspamd(handler: (req: FakeRequest) => FakeAnswer): Promise<FakeRspamd> {
  const requests: FakeRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        path: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      requests.push(r);
      const answer = handler(r);
      if (answer === 'hang') return;
      if (answer === 'close') {
        req.socket.destroy();
        return;
      }
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json' });
      res.end(text);
    });
  });
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
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

export { GTUBE } from '@smarthold/core';
