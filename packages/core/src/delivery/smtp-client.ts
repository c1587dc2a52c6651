/**
 * delivery/smtp-client.ts — a pool of SMTP client connections to one next hop.
 *
 * nodemailer's SMTPConnection speaks the protocol; this file keeps connections
 * open and reuses them (up to max_messages_per_connection), limits how many
 * are open, and turns nodemailer's results and errors into a result per
 * recipient. A connection that saw any error is closed, never reused.
 *
 * How the TCP connection is made is injectable (`connect`): without it the
 * pool connects to host:port itself (the relay); the MX transport passes a
 * factory that looks up and connects to the recipient domain's MX hosts
 * (delivery/mx.ts). A factory reports a failure it has already classified
 * (bounce or defer, with a status code) by throwing a {@link NextHopError}.
 * A STARTTLS failure is always temporary and nothing is sent in clear after it.
 * This file knows nothing of DNS or routing.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { patchDataStream } from './data-stream-patch.js';
import { dsnOf, type TransportResult } from './transport.js';

await patchDataStream();

export interface SmtpClientOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: 'opportunistic' | 'required' | 'none' | 'implicit';
  readonly tlsVerify: boolean;
  readonly authUser: string;
  readonly authPass: string;
  readonly timeoutMs: number;
  /** Our name in EHLO. */
  readonly name: string;
  readonly maxConnections: number;
  readonly maxMessagesPerConnection: number;
  /** Obtains a connected socket instead of connecting to host:port (MX delivery). */
  readonly connect?: SocketFactory;
  /** Which setting made TLS required, for the reason given when STARTTLS fails. */
  readonly tlsRequiredBy?: string;
}

/** A TCP connection made by a {@link SocketFactory}. */
export interface ConnectedSocket {
  readonly socket: Socket;
  /** Name of the peer for TLS (SNI, certificate check): the MX host name. */
  readonly servername: string;
  /** "host[ip]:port", reported with the results. */
  readonly relay: string;
  /** The peer's IP address (handed back in `avoid` when its SMTP handshake fails). */
  readonly address: string;
}

/**
 * Makes a TCP connection, skipping the addresses in `avoid` (peers whose SMTP
 * handshake failed for this connection attempt: greeting, EHLO, STARTTLS).
 */
export type SocketFactory = (avoid: readonly string[]) => Promise<ConnectedSocket>;

/** Peers tried per connection when a factory is given and handshakes fail (as Postfix's smtp_mx_session_limit). */
const MAX_SESSIONS = 2;

/** A failure before SMTP began that the factory has classified already (DNS answers, local policy). */
export class NextHopError extends Error {
  constructor(
    message: string,
    readonly temporary: boolean,
    readonly dsn: string,
    readonly relay = 'none',
  ) {
    super(message);
    this.name = 'NextHopError';
  }
}

interface PooledConnection {
  readonly conn: SMTPConnection;
  readonly relay: string;
  sent: number;
  broken: boolean;
}

interface SmtpError extends Error {
  responseCode?: number;
  response?: string;
  code?: string;
  rejectedErrors?: SmtpError[];
  recipient?: string;
  /** Set by the pool: the peer a connect error came from. */
  relay?: string;
}

function errorReply(err: SmtpError): string {
  return (err.response ?? err.message).replace(/\r?\n/g, ' ').trim();
}

export class SmtpPool {
  private readonly idle: PooledConnection[] = [];
  private open = 0;
  private readonly waiters: (() => void)[] = [];
  private closed = false;
  readonly relay: string;

  constructor(private readonly opts: SmtpClientOptions) {
    this.relay = `${opts.host}:${opts.port}`;
  }

  /**
   * A ready connection. With a factory (MX), a peer whose handshake fails is
   * skipped and the next one tried (RFC 5321 §5.1: try the other MX hosts), up
   * to MAX_SESSIONS; the last handshake error is the one reported.
   */
  private async connect(): Promise<PooledConnection> {
    const factory = this.opts.connect;
    if (!factory) return this.handshake(undefined);
    const avoid: string[] = [];
    let last: unknown;
    for (let i = 0; i < MAX_SESSIONS; i++) {
      let made: ConnectedSocket;
      try {
        made = await factory(avoid);
      } catch (err) {
        throw last ?? err;
      }
      try {
        return await this.handshake(made);
      } catch (err) {
        last = err;
        avoid.push(made.address);
      }
    }
    throw last;
  }

  private handshake(made: ConnectedSocket | undefined): Promise<PooledConnection> {
    const o = this.opts;
    const relay = made?.relay ?? this.relay;
    const conn = new SMTPConnection({
      host: made ? made.servername : o.host,
      port: o.port,
      ...(made ? { connection: made.socket } : {}),
      secure: o.tls === 'implicit',
      requireTLS: o.tls === 'required',
      ignoreTLS: o.tls === 'none',
      opportunisticTLS: o.tls === 'opportunistic',
      tls: { rejectUnauthorized: o.tlsVerify },
      name: o.name,
      connectionTimeout: o.timeoutMs,
      greetingTimeout: o.timeoutMs,
      socketTimeout: o.timeoutMs,
      allowInternalNetworkInterfaces: true,
      logger: false,
    });
    const pooled: PooledConnection = { conn, relay, sent: 0, broken: false };
    conn.on('error', () => {
      pooled.broken = true;
    });
    conn.on('end', () => {
      pooled.broken = true;
      const i = this.idle.indexOf(pooled);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.dropped();
      }
    });
    return new Promise((resolve, reject) => {
      // SMTPConnection reports most handshake failures (a refused STARTTLS among them) only as an
      // 'error' event, never through the connect callback: settle on those too, or the send hangs.
      let settled = false;
      const done = (err?: Error): void => {
        if (settled) return;
        settled = true;
        conn.off('error', done);
        conn.off('end', closed);
        if (!err) {
          resolve(pooled);
          return;
        }
        conn.close();
        reject(Object.assign(err, { relay }));
      };
      const closed = (): void => {
        done(new Error('connection closed during the SMTP handshake'));
      };
      conn.on('error', done);
      conn.on('end', closed);
      conn.connect((err) => {
        if (err) {
          done(err);
          return;
        }
        if (!o.authUser) {
          done();
          return;
        }
        conn.login({ user: o.authUser, pass: o.authPass }, (loginErr) => {
          done(loginErr ?? undefined);
        });
      });
    });
  }

  private dropped(): void {
    this.open--;
    this.waiters.shift()?.();
  }

  private async acquire(): Promise<PooledConnection> {
    for (;;) {
      const c = this.idle.pop();
      if (c && !c.broken) return c;
      if (c) this.dropped();
      if (this.open < this.opts.maxConnections) {
        this.open++;
        try {
          return await this.connect();
        } catch (err) {
          this.dropped();
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(c: PooledConnection, reusable: boolean): void {
    if (reusable && !c.broken && !this.closed && c.sent < this.opts.maxMessagesPerConnection) {
      this.idle.push(c);
      this.waiters.shift()?.();
      return;
    }
    if (!c.broken) c.conn.quit();
    c.broken = true;
    this.dropped();
  }

  /** Sends one message; returns a result per recipient. Never throws. */
  async send(
    from: string,
    to: readonly string[],
    openBody: () => Readable,
    size: number,
  ): Promise<TransportResult[]> {
    let c: PooledConnection;
    try {
      c = await this.acquire();
    } catch (err) {
      return this.fromConnectError(to, err);
    }
    // Opened only once a session is ready, and handed straight to the connection, which
    // listens for its errors: a body that vanished (queue delete) fails this attempt, not the process.
    const body = openBody();
    // nodemailer reports a body error through the send callback; this listener only keeps an
    // error on a stream it never took up (a send refused before reading it) from crashing us.
    body.on('error', () => undefined);
    return new Promise((resolve) => {
      c.sent++;
      c.conn.send({ from, to: [...to], size }, body, (err, info) => {
        if (err) {
          body.destroy();
          const e = err as SmtpError;
          this.release(c, false);
          resolve(this.fromError(to, e, c.relay));
          return;
        }
        this.release(c, true);
        const rejected = new Map<string, SmtpError>();
        for (const r of (info.rejectedErrors ?? []) as SmtpError[])
          if (r.recipient) rejected.set(r.recipient, r);
        // The types promise a final reply; keep the fallback for a server that sent none.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        const response = info.response ?? '250 ok';
        resolve(
          to.map((recipient) => {
            const r = rejected.get(recipient);
            if (!r)
              return {
                recipient,
                ok: true,
                temporary: false,
                reply: response,
                dsn: dsnOf(response, '2.0.0'),
                relay: c.relay,
              };
            const code = r.responseCode ?? 450;
            const text = errorReply(r);
            return {
              recipient,
              ok: false,
              temporary: code < 500,
              reply: text,
              dsn: dsnOf(text, code < 500 ? '4.0.0' : '5.0.0'),
              relay: c.relay,
            };
          }),
        );
      });
    });
  }

  /** Results for a failure before the transaction began (no connection, greeting, EHLO, STARTTLS, AUTH). */
  private fromConnectError(to: readonly string[], err: unknown): TransportResult[] {
    if (err instanceof NextHopError)
      return this.all(to, false, err.temporary, err.message, err.dsn, err.relay);
    const e = err as SmtpError;
    const relay = e.relay ?? this.relay;
    if (e.code === 'ETLS') {
      // Whatever the server answered to STARTTLS (often 502 when it is not offered), this is not
      // the recipient's permanent refusal: defer. SMTPConnection sends nothing after a failed upgrade.
      const why =
        this.opts.tls === 'required'
          ? `TLS is required (${this.opts.tlsRequiredBy ?? 'tls = "required"'}) and `
          : '';
      return this.all(
        to,
        false,
        true,
        `${why}STARTTLS with ${relay} failed, nothing was sent: ${errorReply(e)}`,
        '4.7.4',
        relay,
      );
    }
    return this.all(
      to,
      false,
      e.responseCode ? e.responseCode < 500 : true,
      `connect to ${relay}: ${errorReply(e)}`,
      '4.4.1',
      relay,
    );
  }

  private fromError(to: readonly string[], e: SmtpError, relay: string): TransportResult[] {
    if (e.rejectedErrors?.length) {
      const byRcpt = new Map(e.rejectedErrors.map((r) => [r.recipient, r]));
      return to.map((recipient) => {
        const r = byRcpt.get(recipient) ?? e;
        const code = r.responseCode ?? 450;
        const text = errorReply(r);
        return {
          recipient,
          ok: false,
          temporary: code < 500,
          reply: text,
          dsn: dsnOf(text, code < 500 ? '4.0.0' : '5.0.0'),
          relay,
        };
      });
    }
    const code = e.responseCode;
    const temporary = code === undefined || code < 500;
    return this.all(to, false, temporary, errorReply(e), temporary ? '4.4.2' : '5.0.0', relay);
  }

  private all(
    to: readonly string[],
    ok: boolean,
    temporary: boolean,
    text: string,
    fallbackDsn: string,
    relay: string,
  ): TransportResult[] {
    return to.map((recipient) => ({
      recipient,
      ok,
      temporary,
      reply: text,
      dsn: dsnOf(text, fallbackDsn),
      relay,
    }));
  }

  /** Closes idle connections and refuses reuse. */
  close(): Promise<void> {
    this.closed = true;
    for (const c of this.idle.splice(0)) {
      c.conn.quit();
      c.broken = true;
    }
    return Promise.resolve();
  }
}
