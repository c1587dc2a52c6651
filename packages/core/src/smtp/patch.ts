/**
 * smtp/patch.ts — the few overrides smarthold makes to smtp-server 3.21.6.
 *
 * Kept small, pinned to the exact library version, and covered by
 * smtp/patch.test.ts, so an upgrade that changes the internals fails a test
 * instead of silently undoing a fix:
 *  1. Greeting pause: the library waits a fixed 100 ms before the 220 (an
 *     early-talker check), which caps a one-message connection at ~10 msg/s.
 *     We ask `server.options.greetingPause(remoteAddress)` instead (0 for
 *     relay networks).
 *  2. Pipelining desync: when every RCPT was refused and the client pipelined
 *     DATA and the body, the library answers DATA with 503 and then runs the
 *     body lines as commands. We answer 554 5.5.1 and close the connection.
 *  3. Replies whose text already starts with an enhanced status code are sent
 *     as written (the library would add its own guess for the code), and a
 *     text with "\n" becomes a multi-line reply.
 *  4. Connections are registered by session id, so the DATA deadline can
 *     answer 421 and close a client that trickles bytes.
 *  5. The DATA-mode byte feed (SMTPStream._feedDataStream) finds line-start
 *     dots with native byte searches instead of a loop over every byte
 *     (smtp/data-feed.ts; same rules, checked against the library's).
 */
import { createRequire } from 'node:module';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { feedDataStream } from './data-feed.js';

export const PATCHED_VERSION = '3.21.6';

/** The parts of the library's connection object we touch. */
interface Conn {
  id: string;
  remoteAddress: string;
  session: { envelope: { rcptTo: unknown[] } };
  _server: {
    options: { maxClients?: number; greetingPause?: (ip: string) => number };
    connections: Set<unknown>;
  };
  _setListeners(cb: () => void): void;
  connectionReady(): void;
  send: (code: number, data?: string | string[], context?: unknown) => void;
  close(): void;
}

type ConnProto = Conn & {
  init(): void;
  handler_DATA: (command: Buffer, callback: () => void) => void;
};

/** Open connections by session id (filled by the patched init, emptied on close). */
export const openConnections = new Map<string, { send(code: number, text: string): void; close(): void }>();

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}(?: |\n|$)/;

let applied = false;
let libraryFeed: SMTPStream['_feedDataStream'] | undefined;

/** smtp-server's own DATA feed, as it was before the override (tests compare against it). */
export function originalFeedDataStream(): SMTPStream['_feedDataStream'] {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its stream as `this`
  return libraryFeed ?? SMTPStream.prototype._feedDataStream;
}

/** Returns the installed smtp-server version. */
export function installedVersion(): string {
  const req = createRequire(import.meta.url);
  return (req('smtp-server/package.json') as { version: string }).version;
}

/** Applies the overrides once. Throws when the installed library is not the version they were written for. */
export function patchSmtpServer(): void {
  if (applied) return;
  const version = installedVersion();
  if (version !== PATCHED_VERSION) {
    throw new Error(
      `smarthold's smtp-server overrides are for ${PATCHED_VERSION}, found ${version}: review smtp/patch.ts`,
    );
  }
  const proto = SMTPConnection.prototype as unknown as ConnProto;
  const originalSend = proto.send;
  const originalData = proto.handler_DATA;

  proto.init = function init(this: Conn) {
    this._setListeners(() => {
      const max = this._server.options.maxClients;
      if (max && this._server.connections.size > max) {
        this.send(421, '4.7.0 Too many connections, try again later');
        return;
      }
      openConnections.set(this.id, {
        send: (code, text) => {
          this.send(code, text);
        },
        close: () => {
          this.close();
        },
      });
      const pause = this._server.options.greetingPause?.(this.remoteAddress) ?? 100;
      if (pause <= 0) {
        this.connectionReady();
        return;
      }
      setTimeout(() => {
        this.connectionReady();
      }, pause).unref();
    });
  };

  proto.handler_DATA = function handlerData(this: Conn, command: Buffer, callback: () => void) {
    if (!this.session.envelope.rcptTo.length) {
      // RFC 2920 §3.1: a client may have pipelined the body after DATA; do not read it as commands.
      originalSend.call(this, 554, '5.5.1 No valid recipients, closing connection', false);
      this.close();
      callback();
      return;
    }
    originalData.call(this as ConnProto, command, callback);
  };

  proto.send = function send(this: Conn, code: number, data?: string | string[], context?: unknown) {
    if (typeof data === 'string' && ENHANCED.test(data)) {
      originalSend.call(this, code, data.includes('\n') ? data.split('\n') : data, false);
      return;
    }
    originalSend.call(this, code, data, context);
  };

  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its stream as `this`
  libraryFeed = SMTPStream.prototype._feedDataStream;
  SMTPStream.prototype._feedDataStream = feedDataStream;

  applied = true;
}

/** Forgets a closed connection. */
export function forgetConnection(sessionId: string): void {
  openConnections.delete(sessionId);
}
