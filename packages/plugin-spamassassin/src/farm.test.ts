/**
 * farm.test.ts — weighted order, failover, down marking and the overall deadline, against fake spamds.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { SpamdServer } from './config.js';
import { FarmDeadlineError, FarmError, SpamdFarm, weightedOrder } from './farm.js';
import { closedPort, memMessage, spamdReply, startFakeSpamd } from './test-fake-spamd.js';

const tcp = (port: number, weight = 1): SpamdServer => ({ kind: 'tcp', host: '127.0.0.1', port, weight });
const opts = { connectTimeoutMs: 500, downMs: 30_000 };
const ok = spamdReply('False ; 1.0 / 5.0', 'A,B');

test('weightedOrder: proportional first pick, backups (weight 0) last', () => {
  const items = [
    { id: 'a', weight: 3 },
    { id: 'b', weight: 1 },
    { id: 'z', weight: 0 },
  ];
  const first = { a: 0, b: 0, z: 0 };
  for (let i = 0; i < 400; i++) {
    const order = weightedOrder(items, () => (i + 0.5) / 400);
    first[order[0]?.id as 'a' | 'b']++;
    assert.equal(order[2]?.id, 'z');
    assert.equal(order.length, 3);
  }
  assert.deepEqual(first, { a: 300, b: 100, z: 0 });
});

test('fails over from a refused server to the next, and marks it down', async () => {
  const dead = tcp(await closedPort());
  const fake = await startFakeSpamd(() => ok);
  const live = tcp(fake.port);
  const warnings: string[] = [];
  const farm = new SpamdFarm([dead, live], opts, { random: () => 0, warn: (m) => warnings.push(m) });
  try {
    assert.deepEqual(farm.order(), [dead, live]);
    const msg = memMessage('Subject: x\r\n\r\nhello\r\n');
    const { reply, server } = await farm.run(
      { method: 'SYMBOLS', headers: { 'Content-length': msg.size }, message: msg },
      5000,
    );
    assert.equal(server, live);
    assert.equal(reply.body, 'A,B');
    assert.equal(warnings.length, 1);
    assert.deepEqual(farm.order(), [live, dead], 'the failed server is asked last while down');
  } finally {
    await fake.close();
  }
});

test('connect timeout moves on to the next server', async () => {
  const fake = await startFakeSpamd(() => ok);
  const silent = tcp(1);
  const farm = new SpamdFarm(
    [silent, tcp(fake.port)],
    { connectTimeoutMs: 100, downMs: 1000 },
    {
      random: () => 0,
      // A socket that never connects: stands in for a black-holed address.
      connector: (s) =>
        s === silent
          ? new net.Socket()
          : net.connect({ host: '127.0.0.1', port: s.kind === 'tcp' ? s.port : 0 }),
    },
  );
  try {
    const { server } = await farm.run({ method: 'PING' }, 5000);
    assert.notEqual(server, silent);
  } finally {
    await fake.close();
  }
});

test('a server that answers EX_TEMPFAIL is failed over; EX_PROTOCOL is returned', async () => {
  const temp = await startFakeSpamd(() => 'SPAMD/1.1 75 EX_TEMPFAIL\r\n\r\n');
  const proto = await startFakeSpamd(() => 'SPAMD/1.1 76 EX_PROTOCOL\r\n\r\n');
  const farm = new SpamdFarm([tcp(temp.port), tcp(proto.port)], opts, { random: () => 0 });
  try {
    const { reply } = await farm.run({ method: 'PING' }, 5000);
    assert.equal(reply.code, 76);
  } finally {
    await temp.close();
    await proto.close();
  }
});

test('all servers down: FarmError lists every attempt', async () => {
  const farm = new SpamdFarm(
    [tcp(await closedPort()), { kind: 'unix', path: '/nonexistent/spamd.sock', weight: 1 }],
    opts,
  );
  await assert.rejects(farm.run({ method: 'PING' }, 5000), (err: unknown) => {
    assert.ok(err instanceof FarmError);
    assert.equal(err.attempts.length, 2);
    return true;
  });
});

test('the overall deadline stops the farm: a slow server is not followed by the next', async () => {
  const slow = await startFakeSpamd(() => 'hang');
  const next = await startFakeSpamd(() => ok);
  const farm = new SpamdFarm([tcp(slow.port), tcp(next.port)], opts, { random: () => 0 });
  try {
    const started = Date.now();
    await assert.rejects(farm.run({ method: 'PING' }, 200), FarmDeadlineError);
    assert.ok(Date.now() - started < 1000);
    assert.equal(next.requests.length, 0);
  } finally {
    await slow.close();
    await next.close();
  }
});

test('a message stream shorter than its size is an error, not a hang', async () => {
  const fake = await startFakeSpamd(() => ok);
  const farm = new SpamdFarm([tcp(fake.port)], opts);
  const msg = memMessage('short');
  try {
    await assert.rejects(
      farm.run(
        {
          method: 'SYMBOLS',
          headers: { 'Content-length': 100 },
          message: { size: 100, openMessage: () => msg.openMessage() },
        },
        2000,
      ),
      /gave 5 octets, size says 100/,
    );
  } finally {
    await fake.close();
  }
});
