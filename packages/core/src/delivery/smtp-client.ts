/**
 * delivery/smtp-client.ts — a pool of SMTP client connections to one next hop.
 *
 * nodemailer's SMTPConnection speaks the protocol; this file keeps connections
 * open and reuses them (up to max_messages_per_connection), limits how many
 * are open, and turns nodemailer's results and errors into a result per
 * recipient. A connection that saw any error is closed, never reused.
 */
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { dsnOf, type TransportResult } from './transport.js';

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
}

interface PooledConnection {
  readonly conn: SMTPConnection;
  sent: number;
  broken: boolean;
}

interface SmtpError extends Error {
  responseCode?: number;
  response?: string;
  code?: string;
  rejectedErrors?: SmtpError[];
  recipient?: string;
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

  private connect(): Promise<PooledConnection> {
    const o = this.opts;
    const conn = new SMTPConnection({
      host: o.host,
      port: o.port,
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
    const pooled: PooledConnection = { conn, sent: 0, broken: false };
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
      conn.connect((err) => {
        if (err) {
          conn.close();
          reject(err);
          return;
        }
        if (!o.authUser) {
          resolve(pooled);
          return;
        }
        conn.login({ user: o.authUser, pass: o.authPass }, (loginErr) => {
          if (loginErr) {
            conn.close();
            reject(loginErr);
          } else resolve(pooled);
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
  async send(from: string, to: readonly string[], body: Readable, size: number): Promise<TransportResult[]> {
    let c: PooledConnection;
    try {
      c = await this.acquire();
    } catch (err) {
      body.destroy();
      const e = err as SmtpError;
      return this.all(to, false, e.responseCode ? e.responseCode < 500 : true, `connect to ${this.relay}: ${errorReply(e)}`, '4.4.1');
    }
    return new Promise((resolve) => {
      c.sent++;
      c.conn.send({ from, to: [...to], size }, body, (err, info) => {
        if (err) {
          const e = err as SmtpError;
          this.release(c, false);
          resolve(this.fromError(to, e));
          return;
        }
        this.release(c, true);
        const rejected = new Map<string, SmtpError>();
        for (const r of (info.rejectedErrors ?? []) as SmtpError[]) if (r.recipient) rejected.set(r.recipient, r);
        // The types promise a final reply; keep the fallback for a server that sent none.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        const response = info.response ?? '250 ok';
        resolve(
          to.map((recipient) => {
            const r = rejected.get(recipient);
            if (!r) return { recipient, ok: true, temporary: false, reply: response, dsn: dsnOf(response, '2.0.0'), relay: this.relay };
            const code = r.responseCode ?? 450;
            const text = errorReply(r);
            return { recipient, ok: false, temporary: code < 500, reply: text, dsn: dsnOf(text, code < 500 ? '4.0.0' : '5.0.0'), relay: this.relay };
          }),
        );
      });
    });
  }

  private fromError(to: readonly string[], e: SmtpError): TransportResult[] {
    if (e.rejectedErrors?.length) {
      const byRcpt = new Map(e.rejectedErrors.map((r) => [r.recipient, r]));
      return to.map((recipient) => {
        const r = byRcpt.get(recipient) ?? e;
        const code = r.responseCode ?? 450;
        const text = errorReply(r);
        return { recipient, ok: false, temporary: code < 500, reply: text, dsn: dsnOf(text, code < 500 ? '4.0.0' : '5.0.0'), relay: this.relay };
      });
    }
    const code = e.responseCode;
    const temporary = code === undefined || code < 500;
    return this.all(to, false, temporary, errorReply(e), temporary ? '4.4.2' : '5.0.0');
  }

  private all(to: readonly string[], ok: boolean, temporary: boolean, text: string, fallbackDsn: string): TransportResult[] {
    return to.map((recipient) => ({ recipient, ok, temporary, reply: text, dsn: dsnOf(text, fallbackDsn), relay: this.relay }));
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
