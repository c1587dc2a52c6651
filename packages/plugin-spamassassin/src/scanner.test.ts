/**
 * scanner.test.ts — verdicts, failure policies, max_size and read-only use of the message, against a fake spamd.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScannerUnavailableError } from '@smarthold/core';
import { configSchema, type SpamAssassinConfigInput } from './config.js';
import plugin from './index.js';
import { createSpamAssassinScanner, SKIPPED_RULE } from './scanner.js';
import {
  closedPort,
  memMessage,
  spamdReply,
  startFakeSpamd,
  GTUBE,
  type FakeAnswer,
} from './test-fake-spamd.js';

const REPORT = [
  'Content analysis details:   (1002.7 points, 5.0 required)',
  '',
  ' pts rule name              description',
  '---- ---------------------- --------------------------------------------------',
  ' 2.7 MISSING_DATE           Missing Date: header',
  '1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email',
  '',
].join('\r\n');
const RAW = Buffer.from(`From: a@example.com\r\nSubject: test\r\n\r\n${GTUBE}\r\n`);

async function withFake(
  answer: (method: string) => FakeAnswer,
  cfg: SpamAssassinConfigInput,
  run: (ctx: {
    scanner: ReturnType<typeof createSpamAssassinScanner>;
    requests: Awaited<ReturnType<typeof startFakeSpamd>>['requests'];
  }) => Promise<void>,
): Promise<void> {
  const fake = await startFakeSpamd((req) => answer(req.method));
  try {
    const scanner = createSpamAssassinScanner(
      configSchema.parse({ servers: [{ address: `127.0.0.1:${fake.port}` }], ...cfg }),
    );
    await run({ scanner, requests: fake.requests });
  } finally {
    await fake.close();
  }
}

test('config: defaults, both server forms, strict keys', () => {
  const cfg = configSchema.parse({});
  assert.deepEqual(cfg.servers, [{ kind: 'tcp', host: '127.0.0.1', port: 783, weight: 1 }]);
  assert.equal(cfg.timeout, 15_000);
  assert.equal(cfg.max_size, 512_000);
  assert.equal(cfg.mode, 'report');
  assert.equal(cfg.on_failure, 'tempfail');
  assert.equal(cfg.threshold, undefined);
  const farm = configSchema.parse({
    servers: [{ address: '[::1]:783', weight: 2 }, { socket: '/run/spamd.sock' }],
    timeout: '3s',
  });
  assert.deepEqual(farm.servers, [
    { kind: 'tcp', host: '::1', port: 783, weight: 2 },
    { kind: 'unix', path: '/run/spamd.sock', weight: 1 },
  ]);
  assert.equal(farm.timeout, 3000);
  assert.equal(configSchema.safeParse({ mode: 'process' }).success, false, 'PROCESS is not a mode');
  assert.equal(configSchema.safeParse({ servers: [{ address: 'nope' }] }).success, false);
  assert.equal(configSchema.safeParse({ sever: [] }).success, false, 'unknown keys are refused');
});

test('REPORT verdict: score, spamd threshold, rules with descriptions', async () => {
  await withFake(
    () => spamdReply('True ; 1002.7 / 5.0', REPORT),
    {},
    async ({ scanner, requests }) => {
      const v = await scanner.scan(memMessage(RAW));
      assert.equal(v.scanner, 'spamassassin');
      assert.equal(v.isSpam, true);
      assert.equal(v.score, 1002.7);
      assert.equal(v.threshold, 5);
      assert.deepEqual(v.rules[1], {
        name: 'GTUBE',
        score: 1000,
        description: 'BODY: Generic Test for Unsolicited Bulk Email',
      });
      assert.equal(v.failure, undefined);
      assert.equal(requests[0]?.method, 'REPORT');
      assert.equal(requests[0].headers.get('content-length'), String(RAW.length));
    },
  );
});

test('SYMBOLS mode, User header and a threshold override', async () => {
  await withFake(
    () => spamdReply('False ; 3.5 / 5.0', 'MISSING_DATE,NO_RELAYS'),
    { mode: 'symbols', threshold: 3, user: 'smarthold' },
    async ({ scanner, requests }) => {
      const v = await scanner.scan(memMessage(RAW));
      assert.equal(v.isSpam, true, '3.5 >= the override 3, although spamd said False');
      assert.equal(v.threshold, 3);
      assert.deepEqual(
        v.rules.map((r) => r.name),
        ['MISSING_DATE', 'NO_RELAYS'],
      );
      assert.equal(requests[0]?.method, 'SYMBOLS');
      assert.equal(requests[0].headers.get('user'), 'smarthold');
    },
  );
});

test('the message is only read: spamd receives the exact bytes, nothing is written back', async () => {
  const original = Buffer.from(RAW);
  const msg = memMessage(RAW, 3);
  await withFake(
    () => spamdReply('True ; 1002.7 / 5.0', REPORT),
    {},
    async ({ scanner, requests }) => {
      const v = await scanner.scan(msg);
      assert.ok(requests[0]?.body.equals(original), 'spamd got the message byte for byte');
      assert.ok(RAW.equals(original), 'the source bytes are unchanged');
      assert.equal(msg.opened, 1);
      assert.ok(!requests.some((r) => r.method === 'PROCESS' || r.method === 'HEADERS'));
      // The verdict is data only: no message, no headers to add.
      assert.deepEqual(Object.keys(v).sort(), [
        'durationMs',
        'isSpam',
        'rules',
        'scanner',
        'score',
        'threshold',
      ]);
    },
  );
});

test('max_size: a larger message is not sent; verdict is not spam, rule says skipped', async () => {
  await withFake(
    () => 'close',
    { max_size: 10 },
    async ({ scanner, requests }) => {
      const msg = memMessage(RAW);
      const v = await scanner.scan(msg);
      assert.equal(v.isSpam, false);
      assert.equal(v.rules[0]?.name, SKIPPED_RULE);
      assert.equal(v.failure, undefined);
      assert.equal(msg.opened, 0);
      assert.equal(requests.length, 0);
    },
  );
});

test('spamd down: tempfail throws ScannerUnavailableError; pass and hold give verdicts with failure', async () => {
  const port = await closedPort();
  const make = (on_failure: 'tempfail' | 'pass' | 'hold') =>
    createSpamAssassinScanner(
      configSchema.parse({ servers: [{ address: `127.0.0.1:${port}` }], on_failure }),
    );
  await assert.rejects(make('tempfail').scan(memMessage(RAW)), (err: unknown) => {
    assert.ok(err instanceof ScannerUnavailableError);
    assert.match(err.message, /^spamassassin: no spamd answered/);
    return true;
  });
  const passed = await make('pass').scan(memMessage(RAW));
  assert.equal(passed.isSpam, false);
  assert.match(passed.failure ?? '', /policy pass/);
  const held = await make('hold').scan(memMessage(RAW));
  assert.equal(held.isSpam, true);
  assert.match(held.failure ?? '', /policy hold/);
});

test('spamd slower than the deadline: tempfail throws, pass gives a verdict in time', async () => {
  await withFake(
    () => 'hang',
    { timeout: 150 },
    async ({ scanner }) => {
      await assert.rejects(scanner.scan(memMessage(RAW)), ScannerUnavailableError);
    },
  );
  await withFake(
    () => 'hang',
    { timeout: 150, on_failure: 'pass' },
    async ({ scanner }) => {
      const started = Date.now();
      const v = await scanner.scan(memMessage(RAW));
      assert.ok(Date.now() - started < 1000);
      assert.match(v.failure ?? '', /no answer within 150 ms/);
    },
  );
});

test('a garbled reply is a failure under the policy', async () => {
  await withFake(
    () => 'SPAMD/1.1 0 EX_OK\r\n\r\n',
    { on_failure: 'pass' },
    async ({ scanner }) => {
      const v = await scanner.scan(memMessage(RAW));
      assert.match(v.failure ?? '', /Spam header/);
    },
  );
});

test('learn sends TELL with Message-class and Set: local', async () => {
  await withFake(
    () => 'SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n',
    {},
    async ({ scanner, requests }) => {
      const r = await scanner.tell(memMessage(RAW), 'ham');
      assert.deepEqual(r.didSet, ['local']);
      await scanner.learn(memMessage(RAW), 'spam');
      assert.equal(requests[0]?.method, 'TELL');
      assert.equal(requests[0].headers.get('message-class'), 'ham');
      assert.equal(requests[1]?.headers.get('message-class'), 'spam');
      assert.equal(requests[1].headers.get('set'), 'local');
    },
  );
});

test('learn refused (TELL not allowed) rejects', async () => {
  await withFake(
    () => 'SPAMD/1.1 69 Service Unavailable: TELL commands are not enabled\r\n\r\n',
    {},
    async ({ scanner }) => {
      await assert.rejects(scanner.learn(memMessage(RAW), 'spam'), ScannerUnavailableError);
    },
  );
});

test('the manifest provides spam-scanner and registers no hooks', async () => {
  assert.equal(plugin.name, 'spamassassin');
  assert.deepEqual(plugin.provides, ['spam-scanner']);
  const provided: Record<string, unknown> = {};
  const ctx = {
    config: configSchema.parse({}),
    log: { warn: () => undefined },
    provide: (name: string, impl: unknown) => {
      provided[name] = impl;
    },
    hook: () => {
      throw new Error('a scanner registers no hooks');
    },
  };
  await plugin.setup(ctx as unknown as Parameters<typeof plugin.setup>[0]);
  assert.equal((provided['spam-scanner'] as { name: string }).name, 'spamassassin');
});
