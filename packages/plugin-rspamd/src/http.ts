/**
 * http.ts — one HTTP POST of a message to rspamd, streamed, with a deadline.
 *
 * Sends the message from `openMessage()` as the request body with an exact
 * Content-Length (the message's size) and back-pressure, over a keep-alive
 * agent, and collects the reply body (capped at MAX_REPLY octets). It does
 * not interpret the reply (protocol.ts) and never buffers the message.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { writeOrDrain } from '@smarthold/core';

/** /checkv2 replies list symbols, URLs and e-mails; more than this is not rspamd talking. */
const MAX_REPLY = 8 * 1024 * 1024;

/** The HTTP reply: status and body text. */
export interface HttpReply {
  readonly status: number;
  readonly statusText: string;
  readonly body: string;
}

/** Thrown when the deadline fired first. */
export class HttpDeadlineError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'HttpDeadlineError';
  }
}

/** Keep-alive agents, one per protocol, owned by one scanner. */
export interface Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  destroy(): void;
}

export function createAgents(maxSockets: number): Agents {
  const a = new http.Agent({ keepAlive: true, maxSockets });
  const b = new https.Agent({ keepAlive: true, maxSockets });
  return {
    http: a,
    https: b,
    destroy() {
      a.destroy();
      b.destroy();
    },
  };
}

/**
 * POSTs the message to `url` and resolves with the reply, or rejects on a
 * network error, a stream whose length differs from `size`, or the deadline.
 */
export function postMessage(
  url: string,
  headers: Record<string, string | string[]>,
  message: { readonly size: number; openMessage(): Readable },
  opts: { timeoutMs: number; agents: Agents },
): Promise<HttpReply> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new HttpDeadlineError(opts.timeoutMs));
  }, opts.timeoutMs);

  const work = new Promise<HttpReply>((resolve, reject) => {
    let body: Readable | undefined;
    const req = (secure ? https : http).request(target, {
      method: 'POST',
      agent: secure ? opts.agents.https : opts.agents.http,
      signal: controller.signal,
      headers: { ...headers, 'Content-Length': String(message.size), 'Content-Type': 'message/rfc822' },
    });
    const fail = (err: unknown): void => {
      body?.destroy();
      req.destroy();
      // The abort surfaces as an AbortError; report the deadline instead.
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      reject(reason instanceof Error ? reason : new Error(String(reason)));
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REPLY) {
          fail(new Error(`reply larger than ${MAX_REPLY} octets`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        body?.destroy();
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });

    const write = (chunk: Buffer): Promise<void> => writeOrDrain(req, chunk);

    const send = async (): Promise<void> => {
      // Content-Length promised `size` octets: more or fewer would corrupt the request.
      let sent = 0;
      body = message.openMessage();
      for await (const chunk of body) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        sent += buf.length;
        if (sent > message.size)
          throw new Error(`message stream longer than its size (${message.size} octets)`);
        await write(buf);
      }
      if (sent !== message.size)
        throw new Error(`message stream gave ${sent} octets, size says ${message.size}`);
      req.end();
    };
    send().catch(fail);
  });
  return work.finally(() => {
    clearTimeout(timer);
  });
}
