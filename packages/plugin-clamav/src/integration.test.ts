/**
 * integration.test.ts — the client against the real clamd started by scripts/services/clamd.sh.
 *
 * That clamd loads only the test database the script writes (EICAR and a
 * marker of ours), so signature names never change. Reads
 * SMARTHOLD_TEST_CLAMD (default 127.0.0.1:17835) and
 * SMARTHOLD_TEST_CLAMD_SOCKET (default $SMARTHOLD_CI_DIR/clamd/clamd.sock,
 * SMARTHOLD_CI_DIR defaulting to /tmp/smarthold-ci, as .ci/run starts it).
 * Skips when clamd is not reachable, fails instead under
 * SMARTHOLD_TEST_REQUIRE=all|clamd. The script sets StreamMaxLength 10M.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { needService, ScannerUnavailableError, tcpReachable } from '@smarthold/core';
import { configSchema, type ClamavConfigInput } from './config.js';
import { createClamavScanner } from './scanner.js';
import { closedPort, EICAR, eicarAttachment, mail, memMessage, TEST_MARKER } from './test-fake-clamd.js';

const address = process.env['SMARTHOLD_TEST_CLAMD'] ?? '127.0.0.1:17835';
const [host = '127.0.0.1', port = '17835'] = address.split(/:(?=\d+$)/);
const socketPath =
  process.env['SMARTHOLD_TEST_CLAMD_SOCKET'] ??
  path.join(process.env['SMARTHOLD_CI_DIR'] ?? '/tmp/smarthold-ci', 'clamd', 'clamd.sock');

/** True when something accepts connections on the Unix socket. */
function socketReachable(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path: p });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}

const skip = await needService('clamd', () => tcpReachable(host, Number(port)));
const skipSocket = await needService('clamd', () => socketReachable(socketPath));

const EICAR_NAME = 'Smarthold.Test.EICAR.UNOFFICIAL';
const MARKER_NAME = 'Smarthold.Test.Marker.UNOFFICIAL';

const scanner = (cfg: ClamavConfigInput = {}, chunkSize?: number) =>
  createClamavScanner(configSchema.parse({ servers: [{ address }], timeout: '30s', ...cfg }), {
    ...(chunkSize ? { chunkSize } : {}),
  });

const HAM =
  'Hi Bob,\r\n\r\nthanks for the meeting today. As agreed, I will send the revised budget for the\r\n' +
  'second quarter by Friday.\r\n\r\nBest regards,\r\nAlice';

test('real clamd: PING answers PONG', { skip }, async () => {
  await scanner().ping();
});

test('real clamd: a clean message is OK', { skip }, async () => {
  const v = await scanner().scan(memMessage(mail(HAM)));
  assert.equal(v.infected, false);
  assert.deepEqual(v.viruses, []);
  assert.equal(v.failure, undefined);
  assert.equal(v.skipped, undefined);
  assert.equal(v.server, address);
});

test('real clamd: EICAR in the body is FOUND, with the signature name', { skip }, async () => {
  const v = await scanner().scan(memMessage(mail(`Hello\r\n${EICAR}`)));
  assert.equal(v.infected, true);
  assert.deepEqual(v.viruses, [EICAR_NAME]);
});

test('real clamd: EICAR as a base64 attachment is FOUND (clamd decodes MIME)', { skip }, async () => {
  const raw = eicarAttachment();
  assert.ok(!raw.includes(EICAR), 'the raw message does not carry EICAR in clear');
  const v = await scanner().scan(memMessage(raw));
  assert.deepEqual(v.viruses, [EICAR_NAME]);
});

test('real clamd: our own marker is FOUND under its own name', { skip }, async () => {
  const v = await scanner().scan(memMessage(mail(`see ${TEST_MARKER} here`)));
  assert.deepEqual(v.viruses, [MARKER_NAME]);
});

test(
  'real clamd: many chunks — 3 MB in 1 KB chunks, and EICAR cut across 7-octet chunks',
  { skip },
  async () => {
    const filler = 'lorem ipsum dolor sit amet, consectetur adipiscing elit\r\n'.repeat(54_000);
    const big = mail(`${filler}${EICAR}\r\n`);
    assert.ok(big.length > 3_000_000);
    const v = await scanner({}, 1024).scan(memMessage(big, 50_000));
    assert.deepEqual(v.viruses, [EICAR_NAME]);
    const clean = await scanner({}, 1024).scan(memMessage(mail(filler), 50_000));
    assert.equal(clean.infected, false);
    const small = await scanner({}, 7).scan(memMessage(mail(`x${EICAR}`), 5));
    assert.deepEqual(small.viruses, [EICAR_NAME]);
  },
);

test(
  "real clamd: a message over clamd's StreamMaxLength (10M) is an error with its code, never a clean pass",
  { skip },
  async () => {
    const huge = mail('a'.repeat(11 * 1024 * 1024));
    const cfg = { max_size: 64 * 1024 * 1024 };
    await assert.rejects(scanner(cfg).scan(memMessage(huge, 256 * 1024)), (err: unknown) => {
      assert.ok(err instanceof ScannerUnavailableError, String(err));
      // clamd answers "size limit exceeded" and closes; its reset may overtake that reply
      // (connection.ts), so either error may come: both fail the scan.
      assert.match(
        err.message,
        /SMARTHOLD_CLAMAV_SIZE_LIMIT.*size limit exceeded.*lower max_size or raise StreamMaxLength|SMARTHOLD_CLAMAV_PROTOCOL.*closed the connection after \d+ of \d+ octets without a reply/,
      );
      return true;
    });
    const v = await scanner({ ...cfg, on_failure: 'pass' }).scan(memMessage(huge, 256 * 1024));
    assert.equal(v.infected, false);
    assert.match(v.code ?? '', /^SMARTHOLD_CLAMAV_(SIZE_LIMIT|PROTOCOL)$/);
    assert.ok(v.failure);
    // The same message under max_size is never sent: skipped, and the verdict says so.
    const skipped = await scanner({ max_size: 10 * 1024 * 1024 }).scan(memMessage(huge, 256 * 1024));
    assert.match(skipped.skipped ?? '', /over max_size/);
  },
);

test('real clamd: over the Unix socket', { skip: skipSocket }, async () => {
  const s = createClamavScanner(configSchema.parse({ servers: [{ socket: socketPath }] }));
  await s.ping();
  const v = await s.scan(memMessage(mail(EICAR)));
  assert.deepEqual(v.viruses, [EICAR_NAME]);
  assert.equal(v.server, `unix:${socketPath}`);
});

test('real clamd: failover from a refused server to the real one', { skip }, async () => {
  const p = await closedPort();
  const warnings: string[] = [];
  const s = createClamavScanner(
    configSchema.parse({ servers: [{ address: `127.0.0.1:${p}` }, { address }] }),
    { warn: (_m, f) => warnings.push(String(f['server'])) },
  );
  const v = await s.scan(memMessage(mail(EICAR)));
  assert.deepEqual(v.viruses, [EICAR_NAME]);
  assert.equal(v.server, address);
  assert.deepEqual(warnings, [`127.0.0.1:${p}`]);
});
