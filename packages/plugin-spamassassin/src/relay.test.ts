/**
 * relay.test.ts — smarthold + the spamassassin plugin + a test consumer that
 * scans every message at DATA, against the real spamd started by
 * scripts/services/spamd.sh.
 *
 * Checks: a scanned message is relayed byte for byte as a message relayed
 * without any plugin; GTUBE is held, a normal message delivered; with spamd
 * unreachable, the default policy answers 451 and queues nothing, `pass`
 * delivers the message unscanned and says so (verdict, results, log).
 *
 * Reads SMARTHOLD_TEST_SPAMD (default 127.0.0.1:17830). Skips the real-spamd
 * tests when spamd is not reachable, fails instead under
 * SMARTHOLD_TEST_REQUIRE=all|spamd. The failure-policy tests need no spamd.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import {
  createLogger,
  definePlugin,
  needService,
  queueIdOf,
  sendMail,
  startCaptureSink,
  startSmarthold,
  startTestSmarthold,
  tcpReachable,
  verdict,
  type PluginManifest,
  type TestSmarthold,
} from '@smarthold/core';
import spamassassin from './index.js';
import { GTUBE } from './test-fake-spamd.js';

const address = process.env['SMARTHOLD_TEST_SPAMD'] ?? '127.0.0.1:17830';
const [host = '127.0.0.1', port = '17830'] = address.split(/:(?=\d+$)/);
const skip = await needService('spamd', () => tcpReachable(host, Number(port)));

/** The consumer: scans every message at DATA, records the verdict, holds spam. */
const scanAll = definePlugin({
  name: 'scan-all',
  version: '1.0.0',
  core: '^1',
  requires: ['spam-scanner'],
  setup(ctx) {
    const s = ctx.service('spam-scanner');
    ctx.hook('data', async (tx) => {
      const v = await s.scan(tx, { from: tx.from, to: tx.to, clientIp: tx.session.remoteAddress });
      tx.results.set('verdict', {
        scanner: v.scanner,
        score: v.score,
        threshold: v.threshold,
        isSpam: v.isSpam,
        rules: v.rules.map((r) => r.name),
        failure: v.failure ?? null,
      });
      return v.isSpam ? verdict.hold('spam') : verdict.next();
    });
  },
});

const plugins: readonly PluginManifest[] = [spamassassin, scanAll];

const withScanner = (section: Record<string, unknown>): Promise<TestSmarthold> =>
  startTestSmarthold({
    config: { plugins: ['spamassassin', 'scan-all'], plugin: { spamassassin: section } },
    plugins,
  });

/** A normal message, with a dot-stuffed line and a folded header. */
function cleanMessage(tag: string): Buffer {
  return Buffer.from(
    [
      'Received: from mail.example.com (mail.example.com [192.0.2.10]) by mx.example.org with ESMTP id 4AbCd; Mon, 1 Jan 2024 10:00:00 +0000',
      'From: Alice Example <alice@example.com>',
      'To: Bob Example <bob@example.org>',
      'Subject: Quarterly planning notes',
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      `Message-ID: <relay-${tag}@example.com>`,
      'X-Folded: first part',
      '\tsecond part',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hi Bob,',
      '',
      'thanks for the meeting today. As agreed, I will send the revised budget for the',
      'second quarter by Friday, and Carol will update the project timeline. Please bring',
      'your notes on the staffing plan to the next meeting on Tuesday.',
      '.a line that starts with a dot',
      '',
      'Best regards,',
      'Alice',
      '',
    ].join('\r\n'),
  );
}

function gtubeMessage(): Buffer {
  return Buffer.from(
    [
      'From: Alice Example <alice@example.com>',
      'To: Bob Example <bob@example.org>',
      'Subject: GTUBE test',
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      'Message-ID: <relay-gtube@example.com>',
      '',
      'This is the GTUBE test string:',
      GTUBE,
      '',
    ].join('\r\n'),
  );
}

/** Drops the first header field (smarthold's own Received line, with its continuation lines). */
function withoutOurReceived(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  assert.match(
    text,
    /^Received: from .*by smarthold\.test/s,
    'relayed message starts with our Received line',
  );
  const m = /^Received:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/.exec(text);
  assert.ok(m);
  return raw.subarray(Buffer.byteLength(m[0], 'latin1'));
}

async function relayOnce(t: TestSmarthold, raw: Buffer): Promise<{ id: string; relayed: Buffer }> {
  const reply = await t.send('alice@example.com', ['bob@example.org'], raw);
  assert.equal(reply.code, 250, reply.text);
  const id = queueIdOf(reply);
  assert.ok(id, reply.text);
  await t.waitForState(id, ['delivered'], 30_000);
  const got = t.sink?.messages.find((m) => m.raw.includes(`id ${id}`));
  assert.ok(got, 'the sink got the message');
  return { id, relayed: got.raw };
}

async function verdictOf(t: TestSmarthold, id: string): Promise<Record<string, unknown>> {
  const m = await t.app.store.get(id);
  const r = m?.results.find((x) => x.plugin === 'scan-all' && x.key === 'verdict');
  assert.ok(r, `results of ${id}: ${JSON.stringify(m?.results)}`);
  return r.value as Record<string, unknown>;
}

const realSection = { servers: [{ address }], timeout: '30s' };

test(
  'relay with spamd: a scanned message is relayed byte-identical to one relayed without scanning',
  { skip },
  async () => {
    const [scanned, plain] = await Promise.all([withScanner(realSection), startTestSmarthold()]);
    try {
      const raw = cleanMessage('identical');
      const a = await relayOnce(scanned, raw);
      const b = await relayOnce(plain, raw);
      const v = await verdictOf(scanned, a.id);
      assert.equal(v['scanner'], 'spamassassin');
      assert.equal(v['isSpam'], false, JSON.stringify(v));
      assert.equal(v['failure'], null);
      assert.ok(
        withoutOurReceived(a.relayed).equals(withoutOurReceived(b.relayed)),
        'scanned and unscanned relays differ',
      );
      assert.ok(withoutOurReceived(a.relayed).equals(raw), 'relayed bytes differ from the bytes sent');
    } finally {
      await Promise.all([scanned.stop(), plain.stop()]);
    }
  },
);

test('relay with spamd: GTUBE is held, not delivered', { skip }, async () => {
  const t = await withScanner(realSection);
  try {
    const reply = await t.send('alice@example.com', ['bob@example.org'], gtubeMessage());
    assert.equal(reply.code, 250, reply.text);
    const id = queueIdOf(reply);
    assert.ok(id);
    await t.waitForState(id, ['hold']);
    const v = await verdictOf(t, id);
    assert.equal(v['isSpam'], true);
    assert.ok((v['rules'] as string[]).includes('GTUBE'), JSON.stringify(v));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.sink?.messages.length, 0);
    const m = await t.app.store.get(id);
    assert.deepEqual(
      m?.recipients.map((r) => r.state),
      ['hold'],
    );
  } finally {
    await t.stop();
  }
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port: p } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => {
    srv.close(() => {
      resolve();
    });
  });
  return p;
}

test('spamd down, default policy: the final dot gets 451 and nothing is queued', async () => {
  const p = await closedPort();
  const t = await withScanner({ servers: [{ address: `127.0.0.1:${p}` }], connect_timeout: '1s' });
  try {
    const reply = await t.send('alice@example.com', ['bob@example.org'], cleanMessage('down-tempfail'));
    assert.equal(reply.code, 451, reply.text);
    assert.equal(queueIdOf(reply), undefined);
    const counts = await t.app.store.counts();
    assert.equal(
      Object.values(counts).reduce((n, c) => n + c, 0),
      0,
      JSON.stringify(counts),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(t.sink?.messages.length, 0);
  } finally {
    await t.stop();
  }
});

test('spamd down, on_failure = "pass": accepted, delivered unscanned, and the verdict says so', async () => {
  const p = await closedPort();
  const t = await withScanner({
    servers: [{ address: `127.0.0.1:${p}` }],
    connect_timeout: '1s',
    on_failure: 'pass',
  });
  try {
    const raw = cleanMessage('down-pass');
    const { id, relayed } = await relayOnce(t, raw);
    assert.ok(withoutOurReceived(relayed).equals(raw));
    const v = await verdictOf(t, id);
    assert.equal(v['isSpam'], false);
    assert.match(String(v['failure']), /no spamd answered .*127\.0\.0\.1:\d+.*\(policy pass\)/);
  } finally {
    await t.stop();
  }
});

/** Lines a logger wrote, parsed. */
function logCapture(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { stream, lines };
}

// startTestSmarthold takes no logger (silent, or stdout with SMARTHOLD_TEST_LOG), so these
// start smarthold directly with a logger that writes into an array.
async function startLogged(section: Record<string, unknown>, lines: Writable) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smarthold-relay-log-'));
  const sink = await startCaptureSink();
  const app = await startSmarthold({
    config: {
      smtp: { listen: ['127.0.0.1:0'], hostname: 'smarthold.test' },
      http: { listen: '127.0.0.1:0' },
      store: { dir },
      delivery: {
        poll_interval: '100ms',
        retry_min: '200ms',
        retry_max: '1s',
        relay: { host: '127.0.0.1', port: sink.port, tls: 'none' },
      },
      plugins: ['spamassassin', 'scan-all'],
      plugin: { spamassassin: section },
    },
    plugins,
    log: createLogger({ level: 'debug', destination: lines }),
  });
  return {
    app,
    sink,
    async stop() {
      await app.stop(2000);
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('spamd down: the log says the scan failed, and whether the message was tempfailed or passed', async () => {
  const p = await closedPort();
  const server = `127.0.0.1:${p}`;
  for (const policy of ['tempfail', 'pass'] as const) {
    const { stream, lines } = logCapture();
    const s = await startLogged(
      { servers: [{ address: server }], connect_timeout: '1s', on_failure: policy },
      stream,
    );
    try {
      const reply = await sendMail(
        s.app.smtpPort,
        'alice@example.com',
        ['bob@example.org'],
        cleanMessage(`log-${policy}`),
      );
      assert.equal(reply.code, policy === 'pass' ? 250 : 451, reply.text);
      if (policy === 'pass') await s.sink.waitFor(1, 10_000);
      const text = lines.map((l) => JSON.stringify(l)).join('\n');
      // The plugin's own warning names the server that failed.
      assert.ok(
        lines.some(
          (l) => l['level'] === 40 && l['server'] === server && /spamd failed/.test(String(l['msg'])),
        ),
        `no spamd warning in:\n${text}`,
      );
      if (policy === 'tempfail') {
        // The host logs the hook failure that became the 451.
        assert.ok(
          lines.some(
            (l) =>
              l['plugin'] === 'scan-all' &&
              l['policy'] === 'tempfail' &&
              /threw: spamassassin: no spamd answered/.test(String(l['msg'])),
          ),
          `no tempfail line in:\n${text}`,
        );
      } else {
        assert.ok(
          !lines.some((l) => /hook scan-all\/data threw/.test(String(l['msg']))),
          `the hook threw under pass:\n${text}`,
        );
        // The plugin says the message went on unscanned, and why.
        assert.ok(
          lines.some(
            (l) =>
              l['level'] === 40 &&
              /spamd scan failed; on_failure = pass: message passed unscanned/.test(String(l['msg'])) &&
              /no spamd answered .*\(policy pass\)/.test(String(l['error'])),
          ),
          `no "passed unscanned" line in:\n${text}`,
        );
      }
    } finally {
      await s.stop();
    }
  }
});
