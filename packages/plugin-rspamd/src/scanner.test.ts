/**
 * scanner.test.ts — requests, verdicts, failure policies, max_size and read-only use of the message, against a fake rspamd.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { ScannerUnavailableError } from '@smarthold/core';
import { configSchema, type RspamdConfigInput } from './config.js';
import plugin from './index.js';
import { createRspamdScanner, SKIPPED_RULE } from './scanner.js';
import { GTUBE, memMessage, startFakeRspamd, type FakeAnswer, type FakeRequest } from './test-fake-rspamd.js';

const RAW = Buffer.from(`From: a@example.com\r\nSubject: test\r\n\r\n${GTUBE}\r\n`);
const SPAM = {
  score: 15,
  required_score: 15,
  action: 'reject',
  symbols: { GTUBE: { name: 'GTUBE', score: 0 } },
};
const CONTEXT = {
  from: 'a@example.com',
  to: ['b@example.org', 'c@example.org'],
  clientIp: '192.0.2.1',
  helo: 'mx.example.com',
  queueId: 'Q1',
};

async function withFake(
  answer: (req: FakeRequest) => FakeAnswer,
  cfg: RspamdConfigInput,
  run: (ctx: {
    scanner: ReturnType<typeof createRspamdScanner>;
    requests: FakeRequest[];
    connections: () => number;
  }) => Promise<void>,
): Promise<void> {
  const fake = await startFakeRspamd(answer);
  const scanner = createRspamdScanner(
    configSchema.parse({ url: fake.url, controller_url: fake.url, ...cfg }),
  );
  try {
    await run({ scanner, requests: fake.requests, connections: () => fake.connections() });
  } finally {
    scanner.close();
    await fake.close();
  }
}

async function closedUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return `http://127.0.0.1:${port}`;
}

test('config: defaults and validation', () => {
  const cfg = configSchema.parse({});
  assert.equal(cfg.url, 'http://127.0.0.1:11333');
  assert.equal(cfg.controller_url, 'http://127.0.0.1:11334');
  assert.equal(cfg.timeout, 10_000);
  assert.equal(cfg.max_size, 512_000);
  assert.deepEqual(cfg.spam_actions, ['reject', 'add header', 'rewrite subject']);
  assert.equal(cfg.on_failure, 'tempfail');
  assert.equal(configSchema.parse({ url: 'http://rspamd:11333/' }).url, 'http://rspamd:11333');
  assert.equal(configSchema.safeParse({ url: 'ftp://x' }).success, false);
  assert.equal(configSchema.safeParse({ on_failure: 'ignore' }).success, false);
  assert.equal(configSchema.safeParse({ urll: 'x' }).success, false);
});

test('POST /checkv2 with the envelope headers; verdict from the JSON', async () => {
  await withFake(
    () => ({ body: SPAM }),
    { settings_id: 'outbound' },
    async ({ scanner, requests }) => {
      const v = await scanner.scan(memMessage(RAW), CONTEXT);
      assert.equal(v.scanner, 'rspamd');
      assert.equal(v.isSpam, true);
      assert.equal(v.score, 15);
      const req = requests[0];
      assert.equal(req?.path, '/checkv2');
      assert.equal(req.headers['from'], 'a@example.com');
      assert.equal(req.headers['ip'], '192.0.2.1');
      assert.equal(req.headers['helo'], 'mx.example.com');
      assert.equal(req.headers['queue-id'], 'Q1');
      assert.equal(req.headers['settings-id'], 'outbound');
      assert.equal(req.headers['content-length'], String(RAW.length));
      const rcpts = req.rawHeaders.filter(
        (_, i) => i % 2 === 0 && req.rawHeaders[i]?.toLowerCase() === 'rcpt',
      ).length;
      assert.equal(rcpts, 2, 'one Rcpt header per recipient');
    },
  );
});

test('the message is only read: rspamd receives the exact bytes; the milter block is not applied', async () => {
  const original = Buffer.from(RAW);
  const msg = memMessage(RAW, 3);
  const answer = { body: { ...SPAM, milter: { add_headers: { 'X-Spam': 'Yes' } } } };
  await withFake(
    () => answer,
    {},
    async ({ scanner, requests }) => {
      const v = await scanner.scan(msg);
      assert.ok(requests[0]?.body.equals(original));
      assert.ok(RAW.equals(original));
      assert.equal(msg.opened, 1);
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

test('keep-alive: several scans share a connection', async () => {
  await withFake(
    () => ({ body: SPAM }),
    {},
    async ({ scanner, requests, connections }) => {
      for (let i = 0; i < 3; i++) await scanner.scan(memMessage(RAW));
      assert.equal(requests.length, 3);
      assert.equal(connections(), 1);
    },
  );
});

test('max_size: a larger message is not sent; not spam, rule says skipped', async () => {
  await withFake(
    () => ({ body: SPAM }),
    { max_size: 10 },
    async ({ scanner, requests }) => {
      const msg = memMessage(RAW);
      const v = await scanner.scan(msg);
      assert.equal(v.isSpam, false);
      assert.equal(v.rules[0]?.name, SKIPPED_RULE);
      assert.equal(msg.opened, 0);
      assert.equal(requests.length, 0);
    },
  );
});

test('rspamd down: tempfail throws ScannerUnavailableError; pass and hold give verdicts with failure', async () => {
  const url = await closedUrl();
  const make = (on_failure: 'tempfail' | 'pass' | 'hold') =>
    createRspamdScanner(configSchema.parse({ url, on_failure }));
  await assert.rejects(make('tempfail').scan(memMessage(RAW)), (err: unknown) => {
    assert.ok(err instanceof ScannerUnavailableError);
    assert.match(err.message, /^rspamd: .*ECONNREFUSED/);
    return true;
  });
  const passed = await make('pass').scan(memMessage(RAW));
  assert.equal(passed.isSpam, false);
  assert.match(passed.failure ?? '', /policy pass/);
  const held = await make('hold').scan(memMessage(RAW));
  assert.equal(held.isSpam, true);
  assert.match(held.failure ?? '', /policy hold/);
});

test('rspamd slower than the deadline: tempfail throws, pass answers in time', async () => {
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

test('HTTP errors, dropped connections and bad JSON are failures under the policy', async () => {
  for (const answer of [{ status: 500, body: { error: 'boom' } }, 'close' as const, { body: 'not json' }]) {
    await withFake(
      () => answer,
      { on_failure: 'hold' },
      async ({ scanner }) => {
        const v = await scanner.scan(memMessage(RAW));
        assert.equal(v.isSpam, true);
        assert.ok(v.failure);
      },
    );
  }
});

test('learn: /learnspam and /learnham with the Password header; 208 is not an error', async () => {
  let n = 0;
  const answer = (): FakeAnswer =>
    n++ === 0 ? { body: { success: true } } : { status: 208, body: { error: 'already learned as ham' } };
  await withFake(answer, { password: 'secret' }, async ({ scanner, requests }) => {
    assert.deepEqual(await scanner.learnResult(memMessage(RAW), 'spam'), {
      learned: true,
      detail: 'learned',
    });
    await scanner.learn(memMessage(RAW), 'ham');
    assert.equal(requests[0]?.path, '/learnspam');
    assert.equal(requests[1]?.path, '/learnham');
    assert.equal(requests[0].headers['password'], 'secret');
    assert.ok(requests[0].body.equals(RAW));
  });
});

test('learn refused (wrong password) rejects; controller down is ScannerUnavailableError', async () => {
  await withFake(
    () => ({ status: 403, body: { error: 'Unauthorized' } }),
    { password: 'wrong' },
    async ({ scanner }) => {
      await assert.rejects(scanner.learn(memMessage(RAW), 'spam'), /HTTP 403/);
    },
  );
  const down = createRspamdScanner(configSchema.parse({ controller_url: await closedUrl() }));
  await assert.rejects(down.learn(memMessage(RAW), 'spam'), ScannerUnavailableError);
});

test('the manifest provides spam-scanner, registers no hooks, closes its agent', async () => {
  assert.equal(plugin.name, 'rspamd');
  assert.deepEqual(plugin.provides, ['spam-scanner']);
  const provided: Record<string, unknown> = {};
  const closers: (() => unknown)[] = [];
  const ctx = {
    config: configSchema.parse({}),
    provide: (name: string, impl: unknown) => {
      provided[name] = impl;
    },
    onClose: (fn: () => unknown) => closers.push(fn),
    hook: () => {
      throw new Error('a scanner registers no hooks');
    },
  };
  await plugin.setup(ctx as unknown as Parameters<typeof plugin.setup>[0]);
  assert.equal((provided['spam-scanner'] as { name: string }).name, 'rspamd');
  assert.equal(closers.length, 1);
  for (const c of closers) c();
});
