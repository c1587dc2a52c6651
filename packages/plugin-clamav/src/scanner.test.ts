/**
 * scanner.test.ts — the client against a fake clamd: verdicts, chunking,
 * deadlines, failover, failure policies, max_size, and the config.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScannerUnavailableError } from '@smarthold/core';
import { configSchema, type ClamavConfigInput } from './config.js';
import { ClamavError } from './errors.js';
import { createClamavScanner } from './scanner.js';
import { closedPort, EICAR, mail, memMessage, startFakeClamd, type FakeClamd } from './test-fake-clamd.js';

const RAW = mail(`Hello\r\n${EICAR}`);

function scannerFor(servers: ClamavConfigInput['servers'], cfg: ClamavConfigInput = {}, chunkSize?: number) {
  const warnings: { msg: string; fields: Record<string, unknown> }[] = [];
  const scanner = createClamavScanner(configSchema.parse({ servers, ...cfg }), {
    warn: (msg, fields) => warnings.push({ msg, fields }),
    ...(chunkSize ? { chunkSize } : {}),
  });
  return { scanner, warnings };
}

async function withFake<T>(
  answer: (command: string) => string,
  run: (fake: FakeClamd) => Promise<T>,
): Promise<T> {
  const fake = await startFakeClamd((req) => answer(req.command));
  try {
    return await run(fake);
  } finally {
    await fake.close();
  }
}

test('config: defaults, both server forms, strict keys', () => {
  const cfg = configSchema.parse({});
  assert.deepEqual(cfg.servers, [{ kind: 'unix', path: '/run/clamav/clamd.ctl' }]);
  assert.equal(cfg.action, 'reject');
  assert.equal(cfg.timeout, 20_000);
  assert.equal(cfg.connect_timeout, 2000);
  assert.equal(cfg.max_size, 25 * 1024 * 1024);
  assert.equal(cfg.on_failure, 'tempfail');
  assert.equal(cfg.on_oversize, 'pass');
  assert.equal(configSchema.parse({ on_oversize: 'reject' }).on_oversize, 'reject');
  assert.equal(configSchema.safeParse({ on_oversize: 'drop' }).success, false);
  const two = configSchema.parse({
    servers: [{ address: '[::1]:3310' }, { socket: '/run/c.sock' }],
    timeout: '3s',
  });
  assert.deepEqual(two.servers, [
    { kind: 'tcp', host: '::1', port: 3310 },
    { kind: 'unix', path: '/run/c.sock' },
  ]);
  assert.equal(configSchema.safeParse({ action: 'drop' }).success, false);
  assert.equal(configSchema.safeParse({ servers: [] }).success, false);
  assert.equal(configSchema.safeParse({ servers: [{ address: 'nope' }] }).success, false);
  assert.equal(configSchema.safeParse({ sever: [] }).success, false, 'unknown keys are refused');
});

test('clean and infected verdicts; the message reaches clamd byte for byte', async () => {
  await withFake(
    () => 'stream: OK',
    async (fake) => {
      const { scanner } = scannerFor([{ address: `127.0.0.1:${fake.port}` }]);
      const v = await scanner.scan(memMessage(RAW));
      assert.equal(v.infected, false);
      assert.deepEqual(v.viruses, []);
      assert.equal(v.server, `127.0.0.1:${fake.port}`);
      assert.equal(fake.requests[0]?.command, 'zINSTREAM');
      assert.ok(fake.requests[0]?.data.equals(RAW));
    },
  );
  await withFake(
    () => 'stream: Win.Test.EICAR_HDB-1 FOUND',
    async (fake) => {
      const { scanner } = scannerFor([{ address: `127.0.0.1:${fake.port}` }]);
      const v = await scanner.scan(memMessage(RAW));
      assert.equal(v.infected, true);
      assert.deepEqual(v.viruses, ['Win.Test.EICAR_HDB-1']);
      assert.equal(v.failure, undefined);
    },
  );
});

test('chunking: a 1 MB message read in 10 KB pieces goes in chunks of at most 4 KB and arrives whole', async () => {
  const big = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = 32 + (i % 90);
  await withFake(
    () => 'stream: OK',
    async (fake) => {
      const { scanner } = scannerFor([{ address: `127.0.0.1:${fake.port}` }], {}, 4096);
      await scanner.scan(memMessage(big, 10_000));
      // Each 10,000-octet piece is cut into 4096 + 4096 + 1808: 315 chunks, none over 4096.
      assert.equal(fake.requests[0]?.chunks, 315);
      assert.equal(fake.requests[0]?.maxChunk, 4096);
      assert.ok(fake.requests[0]?.data.equals(big));
    },
  );
});

test('timeout: a clamd that accepts and never answers fails the scan at the deadline (tempfail → throws)', async () => {
  await withFake(
    () => 'hang',
    async (fake) => {
      const { scanner } = scannerFor([{ address: `127.0.0.1:${fake.port}` }], { timeout: 300 });
      const started = Date.now();
      await assert.rejects(scanner.scan(memMessage(RAW)), (err: unknown) => {
        assert.ok(err instanceof ScannerUnavailableError);
        assert.match(err.message, /SMARTHOLD_CLAMAV_TIMEOUT.*300 ms/);
        assert.ok(err.cause instanceof ClamavError && err.cause.code === 'SMARTHOLD_CLAMAV_TIMEOUT');
        return true;
      });
      const took = Date.now() - started;
      assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
    },
  );
});

test('connection refused: each failure policy', async () => {
  const p = await closedPort();
  const servers = [{ address: `127.0.0.1:${p}` }];
  await assert.rejects(scannerFor(servers).scanner.scan(memMessage(RAW)), (err: unknown) => {
    assert.ok(err instanceof ScannerUnavailableError);
    assert.equal(err.code, 'SMARTHOLD_SCANNER_UNAVAILABLE');
    assert.match(err.message, /SMARTHOLD_CLAMAV_CONNECT.*no clamd answered.*ECONNREFUSED/);
    return true;
  });
  const pass = scannerFor(servers, { on_failure: 'pass' });
  const v = await pass.scanner.scan(memMessage(RAW));
  assert.equal(v.infected, false);
  assert.equal(v.code, 'SMARTHOLD_CLAMAV_CONNECT');
  assert.match(v.failure ?? '', /\(policy pass\)$/);
  assert.ok(pass.warnings.some((w) => /on_failure = pass: message passed unscanned/.test(w.msg)));
  assert.ok(
    pass.warnings.some(
      (w) => /trying the next server/.test(w.msg) && w.fields['server'] === `127.0.0.1:${p}`,
    ),
  );
  const hold = scannerFor(servers, { on_failure: 'hold' });
  const h = await hold.scanner.scan(memMessage(RAW));
  assert.match(h.failure ?? '', /\(policy hold\)$/);
  assert.ok(hold.warnings.some((w) => /on_failure = hold: message held/.test(w.msg)));
});

test('failover: a refused, a dropped and an erroring server are passed over for the next', async () => {
  const p = await closedPort();
  await withFake(
    () => 'close',
    (dropper) =>
      withFake(
        () => "stream: Can't allocate memory ERROR",
        (erroring) =>
          withFake(
            () => 'stream: Smarthold.Test FOUND',
            async (good) => {
              const { scanner, warnings } = scannerFor([
                { address: `127.0.0.1:${p}` },
                { address: `127.0.0.1:${dropper.port}` },
                { address: `127.0.0.1:${erroring.port}` },
                { address: `127.0.0.1:${good.port}` },
              ]);
              const v = await scanner.scan(memMessage(RAW));
              assert.equal(v.infected, true);
              assert.equal(v.server, `127.0.0.1:${good.port}`);
              assert.deepEqual(
                warnings.map((w) => w.fields['code']),
                ['SMARTHOLD_CLAMAV_CONNECT', 'SMARTHOLD_CLAMAV_PROTOCOL', 'SMARTHOLD_CLAMAV_SERVER_ERROR'],
              );
              // The failed ones are now down: the next scan goes to the good one first.
              const again = await scanner.scan(memMessage(RAW));
              assert.equal(again.server, `127.0.0.1:${good.port}`);
              assert.equal(dropper.connections, 1);
              assert.equal(erroring.connections, 1);
            },
          ),
      ),
  );
});

test('size limit: clamd refusing the stream is an error with its own code, not retried, not a clean pass', async () => {
  await withFake(
    () => 'INSTREAM size limit exceeded. ERROR',
    (first) =>
      withFake(
        () => 'stream: OK',
        async (second) => {
          const servers = [{ address: `127.0.0.1:${first.port}` }, { address: `127.0.0.1:${second.port}` }];
          await assert.rejects(
            scannerFor(servers).scanner.scan(memMessage(RAW)),
            /SMARTHOLD_CLAMAV_SIZE_LIMIT.*StreamMaxLength/,
          );
          assert.equal(second.connections, 0);
          const v = await scannerFor(servers, { on_failure: 'pass' }).scanner.scan(memMessage(RAW));
          assert.equal(v.code, 'SMARTHOLD_CLAMAV_SIZE_LIMIT');
          assert.ok(v.failure);
        },
      ),
  );
});

test('max_size: a larger message is not sent; the verdict says skipped, and no warning (the hook decides and logs)', async () => {
  await withFake(
    () => 'stream: OK',
    async (fake) => {
      const { scanner, warnings } = scannerFor([{ address: `127.0.0.1:${fake.port}` }], { max_size: 100 });
      const v = await scanner.scan(memMessage(RAW), { queueId: 'Q123' });
      assert.equal(v.infected, false);
      assert.match(v.skipped ?? '', /not scanned: \d+ octets is over max_size 100/);
      assert.equal(fake.connections, 0);
      assert.deepEqual(
        warnings,
        [],
        'not a failure: on_oversize says what it gets, and the hook logs it at info',
      );
    },
  );
});

test('a message stream shorter than its size is an error, never a scan of a truncated message', async () => {
  await withFake(
    () => 'stream: OK',
    async (fake) => {
      const { scanner } = scannerFor([{ address: `127.0.0.1:${fake.port}` }]);
      const short = { ...memMessage(RAW), size: RAW.length + 10 };
      await assert.rejects(scanner.scan(short), /SMARTHOLD_CLAMAV_MESSAGE.*gave \d+ octets, size says/);
    },
  );
});

test('nonsense reply: a protocol error naming the server', async () => {
  await withFake(
    () => 'HTTP/1.1 400 Bad Request',
    async (fake) => {
      const { scanner } = scannerFor([{ address: `127.0.0.1:${fake.port}` }], { on_failure: 'pass' });
      const v = await scanner.scan(memMessage(RAW));
      assert.equal(v.code, 'SMARTHOLD_CLAMAV_PROTOCOL');
      assert.match(v.failure ?? '', new RegExp(`127\\.0\\.0\\.1:${fake.port}: not a clamd reply`));
    },
  );
});

test('ping: PONG resolves; anything else rejects', async () => {
  await withFake(
    () => 'PONG',
    async (fake) => {
      await scannerFor([{ address: `127.0.0.1:${fake.port}` }]).scanner.ping();
      assert.equal(fake.requests[0]?.command, 'zPING');
    },
  );
  await withFake(
    () => 'NOPE',
    async (fake) => {
      await assert.rejects(
        scannerFor([{ address: `127.0.0.1:${fake.port}` }]).scanner.ping(),
        /PING answered/,
      );
    },
  );
});
