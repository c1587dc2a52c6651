/**
 * relay.test.ts — smarthold over real SMTP with the clamav plugin loaded, against
 * the real clamd started by scripts/services/clamd.sh.
 *
 * Checks: a clean message passes and is relayed byte for byte as sent (and
 * as relayed without any plugin); an infected one gets 554 5.7.1 naming the
 * signature and nothing is queued; with `action = "hold"` it is accepted
 * into the hold queue and delivered to nobody; with clamd down the default
 * policy answers 451 and queues nothing, and `pass` delivers the message
 * with the failure recorded; a message over `max_size` is never sent to
 * clamd and gets each `on_oversize`: delivered, held, 451 4.3.0 or 552
 * 5.3.4. (core's scanner-checks are for `spam-scanner` providers; this
 * plugin provides `virus-scanner`, so it has its own.)
 *
 * Reads SMARTHOLD_TEST_CLAMD (default 127.0.0.1:17835). Skips the real-clamd
 * tests when clamd is not reachable, fails instead under
 * SMARTHOLD_TEST_REQUIRE=all|clamd. The clamd-down and on_oversize tests
 * need no clamd (the latter count connections to a fake one: none).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cleanMessage,
  createLogger,
  needService,
  queueIdOf,
  relayOnce,
  startTestSmarthold,
  tcpReachable,
  withoutOurReceived,
  type TestSmarthold,
} from '@smarthold/core';
import clamav from './index.js';
import { closedPort, eicarAttachment, startFakeClamd, type FakeClamd } from './test-fake-clamd.js';

const address = process.env['SMARTHOLD_TEST_CLAMD'] ?? '127.0.0.1:17835';
const [host = '127.0.0.1', port = '17835'] = address.split(/:(?=\d+$)/);
const skip = await needService('clamd', () => tcpReachable(host, Number(port)));

function withClamav(section: Record<string, unknown>): Promise<TestSmarthold> {
  return startTestSmarthold({
    config: { plugins: ['clamav'], plugin: { clamav: section } },
    plugins: [clamav],
  });
}

/** The verdict the plugin recorded for a message. */
async function recorded(t: TestSmarthold, id: string): Promise<Record<string, unknown>> {
  const m = await t.app.store.get(id);
  const r = m?.results.find((x) => x.plugin === 'clamav' && x.key === 'verdict');
  assert.ok(r, `results of ${id}: ${JSON.stringify(m?.results)}`);
  return r.value as Record<string, unknown>;
}

/** Total messages in the store, whatever their state. */
async function stored(t: TestSmarthold): Promise<number> {
  return Object.values(await t.app.store.counts()).reduce((n, c) => n + c, 0);
}

test('relay with clamd: a clean message is scanned and relayed byte-identical', { skip }, async () => {
  const [scanned, plain] = await Promise.all([withClamav({ servers: [{ address }] }), startTestSmarthold()]);
  try {
    const raw = cleanMessage('clamav-identical');
    const a = await relayOnce(scanned, raw);
    const b = await relayOnce(plain, raw);
    const v = await recorded(scanned, a.id);
    assert.equal(v['infected'], false);
    assert.equal(v['server'], address);
    assert.equal(v['failure'], null);
    assert.ok(withoutOurReceived(a.relayed).equals(raw), 'relayed bytes differ from the bytes sent');
    assert.ok(
      withoutOurReceived(a.relayed).equals(withoutOurReceived(b.relayed)),
      'scanned and unscanned relays differ',
    );
  } finally {
    await Promise.all([scanned.stop(), plain.stop()]);
  }
});

test(
  'relay with clamd: an infected message gets 554 5.7.1 naming the signature; nothing is queued',
  { skip },
  async () => {
    const t = await withClamav({ servers: [{ address }] });
    try {
      const reply = await t.send('alice@example.com', ['bob@example.org'], eicarAttachment());
      assert.equal(reply.code, 554, reply.text);
      assert.match(
        reply.text,
        /5\.7\.1 Message rejected: virus found \(Smarthold\.Test\.EICAR\.UNOFFICIAL\)/,
      );
      assert.equal(queueIdOf(reply), undefined);
      assert.equal(await stored(t), 0);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(t.sink?.messages.length, 0);
    } finally {
      await t.stop();
    }
  },
);

test(
  'relay with clamd, action = "hold": the infected message is accepted into hold and not delivered',
  { skip },
  async () => {
    const t = await withClamav({ servers: [{ address }], action: 'hold' });
    try {
      const reply = await t.send(
        'alice@example.com',
        ['bob@example.org', 'carol@example.net'],
        eicarAttachment(),
      );
      assert.equal(reply.code, 250, reply.text);
      const id = queueIdOf(reply);
      assert.ok(id);
      await t.waitForState(id, ['hold']);
      const m = await t.app.store.get(id);
      assert.deepEqual(
        m?.recipients.map((r) => r.state),
        ['hold', 'hold'],
      );
      const v = await recorded(t, id);
      assert.deepEqual(v['viruses'], ['Smarthold.Test.EICAR.UNOFFICIAL']);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(t.sink?.messages.length, 0);
    } finally {
      await t.stop();
    }
  },
);

test('clamd down, default policy: the final dot gets 451 4.3.0 and nothing is queued', async () => {
  const p = await closedPort();
  const t = await withClamav({ servers: [{ address: `127.0.0.1:${p}` }], connect_timeout: '1s' });
  try {
    const reply = await t.send('alice@example.com', ['bob@example.org'], cleanMessage('clamav-down'));
    assert.equal(reply.code, 451, reply.text);
    assert.match(reply.text, /4\.3\.0 Virus scan not available/);
    assert.equal(queueIdOf(reply), undefined);
    assert.equal(await stored(t), 0);
  } finally {
    await t.stop();
  }
});

test('clamd down, on_failure = "pass": delivered unscanned, and the recorded verdict says why', async () => {
  const p = await closedPort();
  const t = await withClamav({
    servers: [{ address: `127.0.0.1:${p}` }],
    connect_timeout: '1s',
    on_failure: 'pass',
  });
  try {
    const raw = cleanMessage('clamav-down-pass');
    const { id, relayed } = await relayOnce(t, raw);
    assert.ok(withoutOurReceived(relayed).equals(raw));
    const v = await recorded(t, id);
    assert.equal(v['infected'], false);
    assert.equal(v['code'], 'SMARTHOLD_CLAMAV_CONNECT');
    assert.match(String(v['failure']), /no clamd answered .*127\.0\.0\.1:\d+.*\(policy pass\)/);
  } finally {
    await t.stop();
  }
});

test('clamd down, on_failure = "hold": accepted into hold, not delivered', async () => {
  const p = await closedPort();
  const t = await withClamav({
    servers: [{ address: `127.0.0.1:${p}` }],
    connect_timeout: '1s',
    on_failure: 'hold',
  });
  try {
    const reply = await t.send('alice@example.com', ['bob@example.org'], cleanMessage('clamav-down-hold'));
    assert.equal(reply.code, 250, reply.text);
    const id = queueIdOf(reply);
    assert.ok(id);
    await t.waitForState(id, ['hold']);
    assert.equal(t.sink?.messages.length, 0);
  } finally {
    await t.stop();
  }
});

/**
 * Smarthold with clamav and `max_size = 100` before a fake clamd that would
 * answer OK; its info logs collected. Every message here is larger.
 */
async function oversized(
  on_oversize: string,
): Promise<{ t: TestSmarthold; fake: FakeClamd; logs: Record<string, unknown>[]; stop(): Promise<void> }> {
  const fake = await startFakeClamd(() => 'stream: OK');
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'info',
    destination: {
      write: (line: string) => {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  const t = await startTestSmarthold({
    config: {
      plugins: ['clamav'],
      plugin: { clamav: { servers: [{ address: `127.0.0.1:${fake.port}` }], max_size: 100, on_oversize } },
    },
    plugins: [clamav],
    log,
  });
  return {
    t,
    fake,
    logs,
    stop: async () => {
      await t.stop();
      await fake.close();
    },
  };
}

/** The info line the hook logs about an oversized message. */
function oversizeLog(logs: Record<string, unknown>[]): Record<string, unknown> | undefined {
  return logs.find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('message too large for clamd'));
}

test('on_oversize = "pass" (default): delivered unscanned, recorded, logged at info with size and limit', async () => {
  const o = await oversized('pass');
  try {
    const raw = cleanMessage('clamav-oversize-pass');
    const { id, relayed } = await relayOnce(o.t, raw);
    assert.ok(withoutOurReceived(relayed).equals(raw));
    assert.equal(o.fake.connections, 0, 'clamd was not asked');
    const v = await recorded(o.t, id);
    assert.equal(v['infected'], false);
    assert.equal(v['on_oversize'], 'pass');
    assert.match(String(v['skipped']), /not scanned: \d+ octets is over max_size 100/);
    const line = oversizeLog(o.logs);
    assert.ok(line, 'an info line about the size');
    assert.equal(line['level'], 30, 'info');
    assert.equal(line['queue_id'], id);
    assert.equal(line['max_size'], 100);
    assert.ok(Number(line['size']) > 100);
    assert.match(String(line['msg']), /on_oversize = pass: passed unscanned/);
  } finally {
    await o.stop();
  }
});

test('on_oversize = "hold": accepted into the hold queue for every recipient, not delivered', async () => {
  const o = await oversized('hold');
  try {
    const reply = await o.t.send(
      'alice@example.com',
      ['bob@example.org', 'carol@example.net'],
      cleanMessage('clamav-oversize-hold'),
    );
    assert.equal(reply.code, 250, reply.text);
    const id = queueIdOf(reply);
    assert.ok(id);
    await o.t.waitForState(id, ['hold']);
    const m = await o.t.app.store.get(id);
    assert.deepEqual(
      m?.recipients.map((r) => r.state),
      ['hold', 'hold'],
    );
    const v = await recorded(o.t, id);
    assert.equal(v['on_oversize'], 'hold');
    assert.equal(o.fake.connections, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(o.t.sink?.messages.length, 0);
  } finally {
    await o.stop();
  }
});

const refusals: [policy: string, code: number, text: RegExp][] = [
  ['tempfail', 451, /^451 4\.3\.0 Message too big for the virus scan, try again later/],
  ['reject', 552, /^552 5\.3\.4 Message too big for the virus scan \(limit 100 octets\)/],
];
for (const [policy, code, text] of refusals) {
  test(`on_oversize = "${policy}": the final dot gets ${code}, nothing is queued, clamd is not asked`, async () => {
    const o = await oversized(policy);
    try {
      const reply = await o.t.send(
        'alice@example.com',
        ['bob@example.org'],
        cleanMessage(`oversize-${code}`),
      );
      assert.equal(reply.code, code, reply.text);
      assert.match(reply.text, text);
      assert.equal(queueIdOf(reply), undefined);
      assert.equal(await stored(o.t), 0);
      assert.equal(o.fake.connections, 0);
      assert.match(String(oversizeLog(o.logs)?.['msg']), new RegExp(`on_oversize = ${policy}: ${code}$`));
    } finally {
      await o.stop();
    }
  });
}
