// Delivery against a scriptable next hop over real sockets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CaptureSink } from '../testing/capture-sink.js';
import { startTestSmarthold, type TestSmarthold } from '../testing/harness.js';
import { queueIdOf } from '../testing/smtp-client.js';

const MSG = 'Subject: d\r\n\r\nbody\r\n';

describe('next-hop replies become per-recipient states', () => {
  let sink: CaptureSink;
  let t: TestSmarthold;
  before(async () => {
    t = await startTestSmarthold();
    if (!t.sink) throw new Error('the harness starts a sink');
    sink = t.sink;
  });
  after(() => t.stop());

  test('4xx at RCPT: deferred with the reply kept, then delivered on retry', async () => {
    let refusals = 0;
    sink.script = {
      rcpt: (to) =>
        to === 'later@example.net' && refusals++ < 1 ? { code: 451, text: '4.7.1 try later' } : undefined,
    };
    const r = await t.send('a@example.org', ['later@example.net'], MSG);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['deferred']);
    const m = await t.app.store.get(id);
    assert.match(m?.recipients[0]?.delay_reason ?? '', /451 4\.7\.1 try later/);
    await t.waitForState(id, ['delivered'], 5000);
    assert.equal((await t.app.store.get(id))?.recipients[0]?.attempts, 2);
  });

  test('5xx at RCPT for one of two recipients: one delivered, one bounced', async () => {
    sink.script = {
      rcpt: (to) => (to === 'nobody@example.net' ? { code: 550, text: '5.1.1 no such user' } : undefined),
    };
    const r = await t.send('a@example.org', ['ok@example.net', 'nobody@example.net'], MSG);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['delivered', 'bounced']);
    const m = await t.app.store.get(id);
    const by = Object.fromEntries((m?.recipients ?? []).map((x) => [x.address, x]));
    assert.equal(by['ok@example.net']?.state, 'delivered');
    assert.equal(by['nobody@example.net']?.state, 'bounced');
    assert.equal(by['nobody@example.net']?.dsn, '5.1.1');
  });

  test('5xx after DATA bounces every recipient', async () => {
    sink.script = { data: () => ({ code: 554, text: '5.7.1 rejected' }) };
    const r = await t.send('a@example.org', ['x@example.net'], MSG);
    await t.waitForState(queueIdOf(r) ?? '', ['bounced']);
  });

  test('disconnect after the final dot: deferred, then delivered once the peer behaves', async () => {
    let drops = 0;
    // Only this test's message is dropped: bounce reports from earlier tests reach the same sink.
    sink.script = { data: (m) => (m.to.includes('y@example.net') && drops++ < 1 ? 'drop' : undefined) };
    const r = await t.send('a@example.org', ['y@example.net'], MSG);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['deferred']);
    await t.waitForState(id, ['delivered'], 5000);
  });
});

describe('no next hop', () => {
  // Without [delivery.relay], MX delivery is the default: the next hop comes from DNS. When DNS
  // cannot answer (SERVFAIL here, from a fake resolver) mail stays deferred with a clear reason.
  test('accepted mail stays deferred with a clear reason', async () => {
    const asked: string[] = [];
    const servfail = (q: string) => {
      asked.push(q);
      return Promise.reject(Object.assign(new Error(`${q}: SERVFAIL`), { code: 'ESERVFAIL' }));
    };
    const t = await startTestSmarthold({
      sink: false,
      resolver: {
        resolveMx: (d) => servfail(`MX ${d}`),
        resolve4: (h) => servfail(`A ${h}`),
        resolve6: (h) => servfail(`AAAA ${h}`),
      },
    });
    try {
      const r = await t.send('a@example.org', ['b@example.net'], MSG);
      assert.equal(r.code, 250);
      const id = queueIdOf(r) ?? '';
      await t.waitForState(id, ['deferred']);
      assert.match(
        (await t.app.store.get(id))?.recipients[0]?.delay_reason ?? '',
        /DNS lookup of the MX records of example\.net failed \(ESERVFAIL\)/,
      );
      assert.ok(asked.includes('MX example.net'));
    } finally {
      await t.stop();
    }
  });
});

describe('hand-off from receiving to delivery', () => {
  /** Wraps the store's claim() to record which messages were found by a claim query. */
  function claimedIds(t: TestSmarthold): Set<string> {
    const ids = new Set<string>();
    const store = t.app.store;
    const claim = store.claim.bind(store);
    store.claim = async (...args) => {
      const got = await claim(...args);
      for (const c of got) ids.add(c.queueId);
      return got;
    };
    return ids;
  }

  test('with a free slot, new mail is delivered without a claim query, byte for byte', async () => {
    const t = await startTestSmarthold();
    try {
      const claimed = claimedIds(t);
      const body = `Subject: hand-off\r\n\r\n${'x'.repeat(3000)}\r\n`;
      const r = await t.send('a@example.org', ['h1@example.net', 'h2@example.net'], body);
      const id = queueIdOf(r) ?? '';
      await t.waitForState(id, ['delivered']);
      assert.equal(claimed.has(id), false, 'handed over at commit, not claimed');
      const got = t.sink?.messages.find((m) => m.to.includes('h1@example.net'));
      assert.ok(got);
      assert.ok(got.raw.toString().endsWith(body), 'the body the sink got is the one sent');
      assert.deepEqual([...got.to].sort(), ['h1@example.net', 'h2@example.net']);
    } finally {
      await t.stop();
    }
  });

  test('with every slot busy, new mail waits and is claimed when a slot frees up', async () => {
    const t = await startTestSmarthold({ config: { delivery: { concurrency: 1, poll_interval: '1h' } } });
    try {
      const claimed = claimedIds(t);
      if (t.sink) t.sink.script = { dataDelayMs: 300 };
      const first = queueIdOf(await t.send('a@example.org', ['s1@example.net'], MSG)) ?? '';
      const second = queueIdOf(await t.send('a@example.org', ['s2@example.net'], MSG)) ?? '';
      await t.waitForState(second, ['delivered'], 5000);
      await t.waitForState(first, ['delivered'], 5000);
      assert.equal(claimed.has(first), false, 'the first took the free slot at commit');
      assert.equal(
        claimed.has(second),
        true,
        'the second was claimed once the slot was free (no poll needed)',
      );
    } finally {
      await t.stop();
    }
  });
});
