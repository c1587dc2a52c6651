/**
 * testing/capture-sink.ts — an SMTP server that records what it receives.
 *
 * A next hop for tests: it keeps each message's envelope and exact bytes
 * (the DATA content, dot-unstuffed, as the sender meant it) and can be told
 * to answer with a fault at MAIL, RCPT (per recipient) or DATA, or to drop
 * the connection after the final dot. Loopback only; stopped by the test.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A message the sink accepted. */
export interface CapturedMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: Buffer;
}

/** A scripted answer: an SMTP code and text, or 'drop' (close the socket). */
export type SinkFault = { code: number; text: string } | 'drop';

export interface SinkScript {
  mail?: (from: string) => SinkFault | undefined;
  rcpt?: (to: string) => SinkFault | undefined;
  /** Called after the whole message was read, before answering. */
  data?: (msg: CapturedMessage) => SinkFault | undefined;
  /** Delay before answering the final dot, in ms. */
  dataDelayMs?: number;
}

export interface CaptureSink {
  readonly port: number;
  readonly messages: CapturedMessage[];
  /** Every MAIL FROM seen (accepted or not). */
  readonly attempts: string[];
  script: SinkScript;
  /** Resolves when `n` messages have been captured (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<CapturedMessage[]>;
  close(): Promise<void>;
}

function fault(f: SinkFault): Error {
  if (f === 'drop') return Object.assign(new Error('drop'), { responseCode: 421 });
  return Object.assign(new Error(f.text), { responseCode: f.code });
}

/**
 * Starts a capture sink on 127.0.0.1.
 *
 * @example
 * const sink = await startCaptureSink();
 * // ... relay to 127.0.0.1:sink.port ...
 * const [msg] = await sink.waitFor(1);
 * await sink.close();
 */
export async function startCaptureSink(port = 0, script: SinkScript = {}): Promise<CaptureSink> {
  const messages: CapturedMessage[] = [];
  const attempts: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const sink: { script: SinkScript } = { script };
  const timers = new Set<NodeJS.Timeout>();
  const server = new SMTPServer({
    // Used only when smarthold's smtp-server patch is loaded in this process: no greeting pause.
    ...({ greetingPause: () => 0 } as object),
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 1000,
    size: 0,
    onMailFrom(address, _session, cb) {
      attempts.push(address.address);
      const f = sink.script.mail?.(address.address);
      cb(f ? fault(f) : null);
    },
    onRcptTo(address, _session, cb) {
      const f = sink.script.rcpt?.(address.address);
      cb(f ? fault(f) : null);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const msg: CapturedMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        };
        // Decided as soon as the message is read; only the reply waits for dataDelayMs.
        const f = sink.script.data?.(msg);
        const answer = (): void => {
          if (f === 'drop') {
            // A peer that dies after the final dot, before replying.
            for (const c of server.connections) {
              const conn = c as unknown as { session?: { id: string }; _socket: { destroy(): void } };
              if (conn.session?.id === session.id) conn._socket.destroy();
            }
            return;
          }
          if (f) {
            cb(fault(f));
            return;
          }
          messages.push(msg);
          for (const w of [...waiters]) if (messages.length >= w.n) w.resolve();
          cb(null, 'Ok: captured');
        };
        if (sink.script.dataDelayMs) {
          const timer = setTimeout(answer, sink.script.dataDelayMs);
          timers.add(timer);
          timer.unref();
        } else answer();
      });
    },
  });
  // A client that vanishes (a sender killed mid-session) is routine for a sink; smtp-server reports it here.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) =>
    server.listen(port, '127.0.0.1', () => {
      resolve();
    }),
  );
  const actual = (server.server.address() as AddressInfo).port;
  return {
    port: actual,
    messages,
    attempts,
    get script() {
      return sink.script;
    },
    set script(s: SinkScript) {
      sink.script = s;
    },
    waitFor(n, timeoutMs = 10_000) {
      if (messages.length >= n) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          reject(new Error(`sink: ${messages.length} of ${n} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve(messages);
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.close(() => {
          resolve();
        });
      }),
  };
}
