// Access, limits, TLS and the greeting pause, over real sockets.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { startTestSmarthold } from '../testing/harness.js';
import { SmtpTestClient } from '../testing/smtp-client.js';

const OUTSIDE = { relay_networks: ['192.0.2.0/24'] };

test('SMTP AUTH (bcrypt hash) lets a client outside relay_networks relay; a wrong password gets 535 5.7.8', async () => {
  const hash = bcrypt.hashSync('s3cret', 4);
  const t = await startTestSmarthold({
    config: { smtp: { ...OUTSIDE, auth_users: [{ name: 'alice', hash }], auth_allow_insecure: true } },
  });
  try {
    const c = await SmtpTestClient.connect(t.app.smtpPort);
    await c.read();
    assert.match((await c.command('EHLO x.example'))?.text ?? '', /AUTH PLAIN LOGIN/);
    const bad = Buffer.from('\0alice\0wrong').toString('base64');
    assert.match((await c.command(`AUTH PLAIN ${bad}`))?.text ?? '', /^535 5\.7\.8 /);
    const good = Buffer.from('\0alice\0s3cret').toString('base64');
    assert.equal((await c.command(`AUTH PLAIN ${good}`))?.code, 235);
    assert.equal((await c.command('MAIL FROM:<alice@example.org>'))?.code, 250);
    assert.equal((await c.command('RCPT TO:<b@example.net>'))?.code, 250);
    c.close();
  } finally {
    await t.stop();
  }
});

test('no AUTH is advertised without users, and no STARTTLS without a certificate', async () => {
  const t = await startTestSmarthold();
  try {
    const c = await SmtpTestClient.connect(t.app.smtpPort);
    await c.read();
    const ehlo = (await c.command('EHLO x.example'))?.text ?? '';
    assert.doesNotMatch(ehlo, /STARTTLS|AUTH/);
    assert.match(ehlo, /ENHANCEDSTATUSCODES/);
    assert.match(ehlo, /PIPELINING/);
    c.close();
  } finally {
    await t.stop();
  }
});

test('STARTTLS is offered with a certificate, and implicit TLS works on listen_tls', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sh-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=smarthold.test',
      ],
      {
        stdio: 'ignore',
      },
    );
  } catch {
    t.skip('openssl is not installed');
    return;
  }
  const s = await startTestSmarthold({
    config: { smtp: { tls_cert: cert, tls_key: key, listen_tls: ['127.0.0.1:0'] } },
  });
  try {
    const c = await SmtpTestClient.connect(s.app.smtpPort);
    await c.read();
    assert.match((await c.command('EHLO x.example'))?.text ?? '', /STARTTLS/);
    c.close();
    const implicit = s.app.listeners.find((l) => l.implicitTls);
    assert.ok(implicit);
    const greeting = await new Promise<string>((resolve, reject) => {
      const sock = tls.connect(
        { host: '127.0.0.1', port: implicit.port, rejectUnauthorized: false },
        () => undefined,
      );
      sock.once('data', (d: Buffer) => {
        resolve(d.toString());
        sock.destroy();
      });
      sock.once('error', reject);
    });
    assert.match(greeting, /^220 /);
  } finally {
    await s.stop();
  }
});

test('connections beyond max_connections_per_ip get 421 4.7.0; relay networks are not limited', async () => {
  const t = await startTestSmarthold({
    config: { smtp: { ...OUTSIDE, greeting_pause: 0, max_connections_per_ip: 1 } },
  });
  const ours = await startTestSmarthold({ config: { smtp: { max_connections_per_ip: 1 } } });
  try {
    const a = await SmtpTestClient.connect(t.app.smtpPort);
    assert.equal((await a.read())?.code, 220);
    const b = await SmtpTestClient.connect(t.app.smtpPort);
    assert.match((await b.read())?.text ?? '', /^421 4\.7\.0 /);
    a.close();
    b.close();
    const c = await SmtpTestClient.connect(ours.app.smtpPort);
    const d = await SmtpTestClient.connect(ours.app.smtpPort);
    assert.equal((await c.read())?.code, 220);
    assert.equal((await d.read())?.code, 220, 'our own MTAs are exempt, as Postfix exempts $mynetworks');
    c.close();
    d.close();
  } finally {
    await t.stop();
    await ours.stop();
  }
});

test('relay_networks get the greeting at once; others wait greeting_pause', async () => {
  const greetAfter = async (port: number): Promise<number> => {
    const started = performance.now();
    const c = await SmtpTestClient.connect(port);
    await c.read();
    c.close();
    return performance.now() - started;
  };
  const fast = await startTestSmarthold();
  const slow = await startTestSmarthold({ config: { smtp: { ...OUTSIDE, greeting_pause: '300ms' } } });
  try {
    assert.ok(
      (await greetAfter(fast.app.smtpPort)) < 90,
      'no 100 ms early-talker pause for the relay networks',
    );
    assert.ok((await greetAfter(slow.app.smtpPort)) >= 290);
  } finally {
    await fast.stop();
    await slow.stop();
  }
});

test('over-long command lines are refused', async () => {
  const t = await startTestSmarthold({ config: { smtp: { max_line_length: 600 } } });
  try {
    const c = await SmtpTestClient.connect(t.app.smtpPort);
    await c.read();
    await c.command('EHLO x.example');
    const r = await c.command(`MAIL FROM:<${'a'.repeat(700)}@example.org>`);
    assert.ok(!r || r.code >= 400, r?.text);
    c.close();
  } finally {
    await t.stop();
  }
});

test('/health and /metrics on the HTTP listener', async () => {
  const t = await startTestSmarthold();
  try {
    await t.send('a@example.org', ['b@example.net'], 'Subject: m\r\n\r\nx\r\n');
    const health = await fetch(`http://127.0.0.1:${t.app.httpPort}/health`);
    assert.equal(health.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${t.app.httpPort}/metrics`)).text();
    assert.match(metrics, /smarthold_messages_received_total\{result="queued"\} 1/);
    assert.match(metrics, /smarthold_connections_total \d+/);
    assert.match(metrics, /smarthold_queue_recipients\{state="active"\}/);
  } finally {
    await t.stop();
  }
});
