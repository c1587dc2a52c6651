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
