/**
 * relay.test.ts — smarthold + the spamassassin plugin + a consumer that scans
 * every message at DATA (the shared scanner checks in @smarthold/core),
 * against the real spamd started by scripts/services/spamd.sh.
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
import net from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import {
  checkGtubeIsHeld,
  checkScannedRelayIsIdentical,
  cleanMessage,
  createLogger,
  needService,
  queueIdOf,
  relayOnce,
  sendMail,
  startWithScanner,
  tcpReachable,
  verdictOf,
  withoutOurReceived,
  type TestSmarthold,
} from '@smarthold/core';
import spamassassin from './index.js';

const address = process.env['SMARTHOLD_TEST_SPAMD'] ?? '127.0.0.1:17830';
const [host = '127.0.0.1', port = '17830'] = address.split(/:(?=\d+$)/);
const skip = await needService('spamd', () => tcpReachable(host, Number(port)));

const withScanner = (section: Record<string, unknown>): Promise<TestSmarthold> =>
  startWithScanner({ plugin: spamassassin, section });

const real = { plugin: spamassassin, section: { servers: [{ address }], timeout: '30s' } };

test(
  'relay with spamd: a scanned message is relayed byte-identical to one relayed without scanning',
  { skip },
  () => checkScannedRelayIsIdentical(real),
);

test('relay with spamd: GTUBE is held, not delivered', { skip }, () => checkGtubeIsHeld(real));

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

test('spamd down: the log says the scan failed, and whether the message was tempfailed or passed', async () => {
  const p = await closedPort();
  const server = `127.0.0.1:${p}`;
  for (const policy of ['tempfail', 'pass'] as const) {
    const { stream, lines } = logCapture();
    const s = await startWithScanner({
      plugin: spamassassin,
      section: { servers: [{ address: server }], connect_timeout: '1s', on_failure: policy },
      log: createLogger({ level: 'debug', destination: stream }),
    });
    try {
      const reply = await sendMail(
        s.app.smtpPort,
        'alice@example.com',
        ['bob@example.org'],
        cleanMessage(`log-${policy}`),
      );
      assert.equal(reply.code, policy === 'pass' ? 250 : 451, reply.text);
      if (policy === 'pass') await s.sink?.waitFor(1, 10_000);
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
