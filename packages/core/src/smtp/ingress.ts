/**
 * smtp/ingress.ts — the SMTP listeners: smtp-server wired to policy.
 *
 * This file is the SMTP state machine's glue: limits, relay access, AUTH,
 * address checks and the plugin hooks at connect/helo/mail/rcpt; the DATA
 * phase is smtp/data-phase.ts. Policy lives in plugins; reply texts in
 * smtp/reply.ts. HELO hooks run once per HELO name, at the first MAIL after
 * it (smtp-server has no HELO callback).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import type { HostPort } from '../config/types.js';
import { openConnections, forgetConnection, patchSmtpServer } from './patch.js';
import { checkAddress } from './address.js';
import { checkPassword } from './auth.js';
import { runDataPhase, type DataPhaseDeps } from './data-phase.js';
import { commandReply, reply, type SmtpReply } from './reply.js';
import { checkRecipient } from './policy.js';
import { type ConnState, newTx, sessionInfo, txView } from './session.js';
import { newQueueId } from '../util/queue-id.js';
import { DiskGuard } from '../store/disk.js';
import { networkList } from '../util/networks.js';

/** A running listener. */
export interface Listener {
  readonly host: string;
  readonly port: number;
  readonly implicitTls: boolean;
}

export class Ingress {
  private readonly servers: SMTPServer[] = [];
  private readonly conns = new Map<string, ConnState>();
  private readonly perIp = new Map<string, number>();
  private readonly relay;
  readonly hostname: string;
  readonly listeners: Listener[] = [];
  private readonly log: Logger;
  private readonly disk: DiskGuard;

  constructor(private readonly deps: Omit<DataPhaseDeps, 'hostname'>) {
    patchSmtpServer();
    this.disk = new DiskGuard(deps.config.store.dir, deps.config.smtp.queue_min_free, () => deps.clock.now());
    this.relay = networkList(deps.config.smtp.relay_networks);
    this.hostname = deps.config.smtp.hostname || os.hostname();
    this.log = deps.log.child({ component: 'smtpd' });
  }

  private options(implicitTls: boolean): SMTPServerOptions {
    const c = this.deps.config.smtp;
    const tls = c.tls_cert
      ? { cert: readFileSync(c.tls_cert), key: readFileSync(c.tls_key || c.tls_cert) }
      : undefined;
    const disabled = [...(tls ? [] : ['STARTTLS']), ...(c.auth_users.length ? [] : ['AUTH'])];
    const opts: SMTPServerOptions & { greetingPause: (ip: string) => number } = {
      name: this.hostname,
      banner: 'ESMTP smarthold',
      secure: implicitTls,
      ...(tls ?? {}),
      hideSTARTTLS: !tls,
      disabledCommands: disabled,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: true,
      allowInsecureAuth: c.auth_allow_insecure,
      size: c.max_message_size,
      rejectOversized: true,
      maxClients: c.max_connections,
      maxCommandLength: c.max_line_length,
      socketTimeout: c.socket_timeout,
      closeTimeout: 30_000,
      disableReverseLookup: true,
      hideDSN: true,
      hideENHANCEDSTATUSCODES: false,
      hideREQUIRETLS: true,
      logger: false,
      greetingPause: (ip: string) => (this.relay.has(ip) ? 0 : c.greeting_pause),
      onConnect: (session, cb) => {
        this.onConnect(session).then(
          () => {
            cb();
          },
          (err: unknown) => {
            cb(err as Error);
          },
        );
      },
      onAuth: (auth, session, cb) => {
        checkPassword(c.auth_users, auth.username ?? '', auth.password ?? '').then(
          (ok) => {
            if (ok) cb(null, { user: auth.username });
            else cb(reply(535, '5.7.8', 'Authentication credentials invalid'));
          },
          () => {
            cb(reply(454, '4.7.0', 'Temporary authentication failure'));
          },
        );
      },
      onMailFrom: (address, session, cb) => {
        const args = (address.args || {}) as Record<string, unknown>;
        this.onMail(address.address, Boolean(args['SMTPUTF8']), Number(args['SIZE']) || 0, session).then(
          (r) => {
            cb(r ?? null);
          },
          (err: unknown) => {
            this.log.error({ err }, 'MAIL handler failed');
            cb(reply(451, '4.3.0', 'Local error in processing'));
          },
        );
      },
      onRcptTo: (address, session, cb) => {
        this.onRcpt(address.address, session).then(
          (r) => {
            cb(r ?? null);
          },
          (err: unknown) => {
            this.log.error({ err }, 'RCPT handler failed');
            cb(reply(451, '4.3.0', 'Local error in processing'));
          },
        );
      },
      onData: (stream, session, cb) => {
        this.onData(stream, session).then(
          (r) => {
            if (r.ok) cb(null, r.text);
            else cb(r.reply);
          },
          (err: unknown) => {
            this.log.error({ err }, 'DATA handler failed');
            cb(reply(451, '4.3.0', 'Local error in processing'));
          },
        );
      },
      onClose: (session) => {
        this.onClose(session);
      },
    };
    return opts;
  }

  /** Starts every configured listener. */
  async listen(): Promise<void> {
    const c = this.deps.config.smtp;
    const start = async (addr: HostPort, implicitTls: boolean): Promise<void> => {
      const server = new SMTPServer(this.options(implicitTls));
      server.on('error', (err) => {
        this.log.error({ err }, 'SMTP server error');
      });
      await new Promise<void>((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(addr.port, addr.host, () => {
          server.server.off('error', reject);
          resolve();
        });
      });
      const a = server.server.address() as AddressInfo;
      this.servers.push(server);
      this.listeners.push({ host: a.address, port: a.port, implicitTls });
      this.log.info(
        {
          address: `${a.address}:${a.port}`,
          tls: implicitTls ? 'implicit' : c.tls_cert ? 'starttls' : 'none',
        },
        'SMTP listening',
      );
    };
    for (const a of c.listen) await start(a, false);
    if (c.listen_tls.length && !c.tls_cert) throw new Error('smtp.listen_tls needs smtp.tls_cert');
    for (const a of c.listen_tls) await start(a, true);
  }

  /** Stops accepting; resolves when the open sessions have ended (the library's closeTimeout bounds the wait). */
  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => {
              resolve();
            });
          }),
      ),
    );
  }

  private conn(session: SMTPServerSession): ConnState {
    let c = this.conns.get(session.id);
    if (!c) {
      c = {
        heloChecked: undefined,
        heloVerdictReply: undefined,
        tx: undefined,
        openedAt: this.deps.clock.now(),
      };
      this.conns.set(session.id, c);
    }
    return c;
  }

  private async onConnect(session: SMTPServerSession): Promise<void> {
    const ip = session.remoteAddress;
    const n = (this.perIp.get(ip) ?? 0) + 1;
    this.perIp.set(ip, n);
    this.conn(session);
    this.deps.metrics.connections.inc();
    this.deps.metrics.connectionsActive.inc();
    // Our own MTAs (relay networks) are not limited per address, as Postfix exempts $mynetworks.
    if (n > this.deps.config.smtp.max_connections_per_ip && !this.relay.has(ip)) {
      this.deps.metrics.connectionsRefused.inc();
      throw reply(421, '4.7.0', 'Too many connections from your address, try again later');
    }
    const v = await this.deps.host.connect(sessionInfo(session, this.relay));
    const r = commandReply(v, { code: 554, enhanced: '5.7.1' });
    if (r) {
      this.deps.metrics.connectionsRefused.inc();
      // A refused connection gets 421 (tempfail) or 554 (reject), then the library closes it.
      throw v.kind === 'tempfail' ? reply(421, r.enhanced, r.lines) : r;
    }
  }

  private async onMail(
    address: string,
    smtpUtf8: boolean,
    size: number,
    session: SMTPServerSession,
  ): Promise<SmtpReply | undefined> {
    const c = this.conn(session);
    const bad = checkAddress(address, {
      smtpUtf8,
      allowLiterals: this.deps.config.smtp.address_literals,
      role: 'sender',
    });
    if (bad) return bad;
    if (!(await this.disk.hasRoom(size))) {
      this.log.warn(
        { dir: this.deps.config.store.dir, min_free: this.deps.config.smtp.queue_min_free },
        'queue file system nearly full: refusing mail',
      );
      return reply(452, '4.3.1', 'Insufficient system storage, try again later');
    }
    const now = this.deps.clock.now();
    const tx = newTx(newQueueId(now), address, now);
    const info = sessionInfo(session, this.relay);
    const helo = session.hostNameAppearsAs;
    if (c.heloChecked !== helo) {
      c.heloChecked = helo;
      c.heloVerdictReply = commandReply(await this.deps.host.helo(info, helo, tx.results), {
        code: 550,
        enhanced: '5.7.1',
      });
    }
    if (c.heloVerdictReply) return c.heloVerdictReply;
    const r = commandReply(await this.deps.host.mail(txView(tx, info), tx.results), {
      code: 550,
      enhanced: '5.7.1',
    });
    if (r) return r;
    c.tx = tx;
    return undefined;
  }

  private async onRcpt(address: string, session: SMTPServerSession): Promise<SmtpReply | undefined> {
    const c = this.conn(session);
    const tx = c.tx;
    if (!tx) return reply(503, '5.5.1', 'Need MAIL command');
    const info = sessionInfo(session, this.relay);
    const refused = checkRecipient(this.deps.config.smtp, {
      address,
      smtpUtf8: session.envelope.smtpUtf8 ?? false,
      accepted: tx.to.length,
      session: info,
    });
    if (refused) {
      if (refused.responseCode === 554)
        this.log.info(
          { queue_id: tx.queueId, client: info.remoteAddress, to: address },
          'relay access denied',
        );
      return refused;
    }
    const r = commandReply(await this.deps.host.rcpt(txView(tx, info), address, tx.results), {
      code: 550,
      enhanced: '5.7.1',
    });
    if (r) return r;
    tx.to.push(address);
    return undefined;
  }

  private async onData(
    stream: Parameters<NonNullable<SMTPServerOptions['onData']>>[0],
    session: SMTPServerSession,
  ) {
    const c = this.conn(session);
    const tx = c.tx;
    c.tx = undefined;
    if (!tx || !tx.to.length) {
      stream.resume();
      return { ok: false as const, reply: reply(503, '5.5.1', 'No valid recipients') };
    }
    let aborted = false;
    const timer = setTimeout(() => {
      aborted = true;
      this.log.warn(
        { queue_id: tx.queueId, client: session.remoteAddress },
        'DATA phase overran its deadline',
      );
      const conn = openConnections.get(session.id);
      conn?.send(421, '4.4.2 Timeout in DATA phase, closing connection');
      conn?.close();
      stream.destroy();
    }, this.deps.config.smtp.data_timeout);
    timer.unref();
    try {
      const esmtp = session.openingCommand !== 'HELO';
      return await runDataPhase(
        { ...this.deps, hostname: this.hostname },
        stream,
        sessionInfo(session, this.relay),
        esmtp,
        tx,
        () => aborted,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private onClose(session: SMTPServerSession): void {
    forgetConnection(session.id);
    if (!this.conns.delete(session.id)) return;
    this.deps.metrics.connectionsActive.dec();
    const ip = session.remoteAddress;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }
}
