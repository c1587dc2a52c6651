/**
 * integration.test.ts — sender-auth inside a running smarthold (acceptance 3).
 *
 * Starts smarthold on 127.0.0.1 (port 0) with this plugin (fake DNS) and a
 * small test plugin that requires `sender-auth` and records what it answers.
 * Messages arrive over a real socket "through an internal hop": the client is
 * one of our servers, whose Received line names another of ours above the
 * external entry. Then `explain` must show the findings.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  definePlugin,
  explainText,
  silentLogger,
  startSmarthold,
  type Smarthold,
  type Transport,
  verdict,
} from '@smarthold/core';
import type { SenderClassification } from './classify.js';
import { senderAuthPlugin } from './index.js';
import { fakeDns, txt } from './test-dns.js';

/** Sends one message with a plain SMTP dialogue; resolves with the reply to the final dot. */
function smtpSend(port: number, from: string, to: readonly string[], message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const script = [
      'EHLO mbox.isp.example',
      `MAIL FROM:<${from}>`,
      ...to.map((r) => `RCPT TO:<${r}>`),
      'DATA',
      `${message.replace(/\n/g, '\r\n')}\r\n.`,
      'QUIT',
    ];
    let step = -1;
    let buffer = '';
    let final = '';
    socket.setTimeout(10_000, () => {
      socket.destroy(new Error(`SMTP dialogue timed out at step ${step}: ${buffer}`));
    });
    socket.on('error', reject);
    socket.on('close', () => {
      resolve(final);
    });
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      // A complete reply ends with a line "NNN text" (RFC 5321 §4.2.1: the last line has a space after the code).
      const m = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(buffer);
      if (!m) return;
      const code = Number(m[1]);
      const reply = buffer.trim();
      buffer = '';
      if (script[step] === `${message.replace(/\n/g, '\r\n')}\r\n.`) final = reply;
      const expectOk = step < 0 ? 220 : script[step] === 'DATA' ? 354 : script[step] === 'QUIT' ? 221 : 250;
      if (code !== expectOk) {
        final = reply;
        socket.end();
        return;
      }
      step++;
      const next = script[step];
      if (next === undefined) socket.end();
      else socket.write(`${next}\r\n`);
    });
  });
}

const D = 'Mon, 6 Jan 2025 10:00:00 +0100';
/** A forwarded message: our mailbox host (the client) got it from our mx1, which got it from the Internet. */
const forwarded = (
  sender: string,
): string => `Received: from mx1.isp.example (mx1.isp.example [198.51.100.10])
\tby mbox.isp.example (Postfix) with ESMTPS id 4Xk2M for <bob@isp.example>; ${D}
Received: from mail.sender.example (mail.sender.example [203.0.113.5])
\tby mx1.isp.example (Postfix) with ESMTPS id 4Xk2L for <bob@isp.example>; ${D}
Received: from forged.example (forged.example [198.51.100.77])
\tby mail.sender.example (Postfix) with ESMTP id 1; ${D}
From: <${sender}>
To: <bob@isp.example>
Subject: forwarded
Message-ID: <${sender.replace('@', '.')}@test>

Hello.
`;

describe('sender-auth in a running smarthold', () => {
  const seen = new Map<string, SenderClassification>();
  let app: Smarthold;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sender-auth-it-'));
    const dns = fakeDns({
      'sender.example': { TXT: txt('v=spf1 ip4:203.0.113.0/24 -all') },
      'strict.example': { TXT: txt('v=spf1 mx -all'), MX: [{ exchange: 'mx.strict.example', priority: 10 }] },
      'mx.strict.example': { A: ['192.0.2.25'] },
    });
    const recorder = definePlugin({
      name: 'sender-auth-test',
      version: '0.0.0',
      core: '^1',
      requires: ['sender-auth'],
      setup(ctx) {
        const auth = ctx.service('sender-auth');
        ctx.hook('data', async (tx) => {
          seen.set(tx.queueId, await auth.classify(tx));
          return verdict.next();
        });
      },
    });
    const accepting: Transport = {
      name: 'test-accept',
      deliver: (job) =>
        Promise.resolve(
          job.to.map((recipient) => ({
            recipient,
            ok: true,
            temporary: false,
            reply: '250 ok',
            dsn: '2.0.0',
            relay: 'test',
          })),
        ),
      close: () => Promise.resolve(),
    };
    app = await startSmarthold({
      config: {
        smtp: { listen: ['127.0.0.1:0'], hostname: 'smarthold.test', greeting_pause: 0 },
        http: { listen: '127.0.0.1:0' },
        store: { dir },
        // The recorder is listed first: the requires graph still sets sender-auth up (and runs its hooks) before it.
        plugins: ['sender-auth-test', 'sender-auth'],
        plugin: {
          'sender-auth': {
            our_domains: ['isp.example'],
            our_networks: ['127.0.0.0/8', '::1/128', '198.51.100.0/24'],
            filter_domains: ['aol.com'],
          },
        },
      },
      plugins: [senderAuthPlugin({ resolver: dns.resolve, mta: 'smarthold.test' }), recorder],
      transport: accepting,
      log: silentLogger(),
    });
  });

  after(async () => {
    await app.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(from: string, to: string[], message: string): Promise<string> {
    const reply = await smtpSend(app.smtpPort, from, to, message);
    const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1];
    assert.ok(id, `accepted: ${reply}`);
    return id;
  }

  async function explain(id: string): Promise<string> {
    const detail = await app.store.get(id);
    assert.ok(detail, `message ${id} is in the store`);
    return explainText(detail);
  }

  test('forwarded mail through an internal hop: SPF passes at the external entry', async () => {
    const id = await send(
      'alice@sender.example',
      ['bob@mail.aol.com', 'carol@elsewhere.example'],
      forwarded('alice@sender.example'),
    );
    const c = seen.get(id);
    assert.ok(c, 'the requiring plugin got an answer');
    assert.deepEqual([c.ours, c.reason, c.okToBounce], [true, 'spf-pass', true]);
    assert.equal(c.origin.kind, 'external');
    assert.equal(c.origin.kind === 'external' ? c.origin.ip : '', '203.0.113.5');
    assert.equal(c.origin.kind === 'external' ? c.origin.line : -2, 1);
    assert.equal(c.spf.ip, '203.0.113.5');

    const text = await explain(id);
    assert.match(
      text,
      /sender-auth\.classification = \{"ours":true,"reason":"spf-pass","okToBounce":true,"sender":"alice@sender\.example"\}/,
    );
    assert.match(
      text,
      /sender-auth\.origin = \{"kind":"external","ip":"203\.0\.113\.5","helo":"mail\.sender\.example","line":1,/,
    );
    assert.match(
      text,
      /sender-auth\.spf = \{"result":"pass","identity":"mailfrom","sender":"alice@sender\.example","ip":"203\.0\.113\.5"/,
    );
    assert.match(
      text,
      /sender-auth\.filtered \[bob@mail\.aol\.com\] = \{"filtered":true,"rule":\{"kind":"domain","domain":"aol\.com"\}\}/,
    );
    assert.match(text, /sender-auth\.filtered \[carol@elsewhere\.example\] = \{"filtered":false\}/);
    assert.match(text, /sender-auth\/data\s+continue/);
    assert.match(text, /sender-auth-test\/data\s+continue/);
    assert.ok(
      text.indexOf('sender-auth/data') < text.indexOf('sender-auth-test/data'),
      'the provider runs first',
    );
  });

  test('a forged sender behind the same internal hops is not ours (SPF fails at the entry)', async () => {
    const id = await send('boss@strict.example', ['bob@aol.com'], forwarded('boss@strict.example'));
    const c = seen.get(id);
    assert.deepEqual([c?.ours, c?.reason, c?.okToBounce, c?.spf.result], [false, 'spf-fail', false, 'fail']);
    assert.match(
      await explain(id),
      /sender-auth\.classification = \{"ours":false,"reason":"spf-fail","okToBounce":false/,
    );
  });

  test('mail written inside our network is ours', async () => {
    const msg = `Received: from [192.168.1.5] (unknown [192.168.1.5])\n\tby mbox.isp.example (Postfix) with ESMTPSA id 9; ${D}\nFrom: <bob@isp.example>\nSubject: internal\n\nHi.\n`;
    const id = await send('bob@isp.example', ['x@aol.com'], msg);
    const c = seen.get(id);
    assert.deepEqual(
      [c?.ours, c?.reason, c?.origin.kind, c?.spf.source],
      [true, 'our-network', 'internal', 'skipped'],
    );
  });
});
