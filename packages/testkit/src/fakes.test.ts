// fakeClock, fakeDns and fakeScanner.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { definePlugin, GTUBE, scanAllPlugin, verdict, type MxResolver } from '@smarthold/core';
import { FAKE_CLOCK_START, fakeClock } from './clock.js';
import { fakeDns } from './dns.js';
import { fakeScanner } from './scanner.js';
import { runTransaction } from './transaction.js';

test('fakeClock moves only when told', () => {
  const c = fakeClock();
  assert.equal(c.now(), FAKE_CLOCK_START);
  assert.equal(c.advance(1500), FAKE_CLOCK_START + 1500);
  c.set(42);
  assert.equal(c.now(), 42);
});

test('fakeDns answers like node:dns: records, ENOTFOUND, ENODATA, injected failures', async () => {
  const dns = fakeDns(
    {
      mx: {
        'Example.NET.': [{ exchange: 'mx.example.net', priority: 10 }],
        'null.example': [{ exchange: '', priority: 0 }],
      },
      a: { 'mx.example.net': ['192.0.2.25'] },
      txt: {
        'example.org': 'v=spf1 -all',
        'multi.example': ['a', 'b'],
        'split.example': [['v=spf1 ', '-all']],
      },
    },
    { fail: { 'broken.example': 'ESERVFAIL' }, hang: ['slow.example'] },
  );
  const mx: MxResolver = dns;
  assert.deepEqual(await mx.resolveMx('example.net'), [{ exchange: 'mx.example.net', priority: 10 }]);
  assert.deepEqual(await mx.resolve4('mx.example.net'), ['192.0.2.25']);
  await assert.rejects(mx.resolve6('mx.example.net'), { code: 'ENODATA' });
  await assert.rejects(mx.resolveMx('nowhere.example'), { code: 'ENOTFOUND' });
  await assert.rejects(mx.resolveMx('broken.example'), { code: 'ESERVFAIL' });
  assert.deepEqual(await dns.resolveTxt('example.org'), [['v=spf1 -all']]);
  assert.deepEqual(await dns.resolveTxt('multi.example'), [['a'], ['b']]);
  // The (name, rrtype) function shape, as sender-auth's DnsResolver and mailauth take it.
  const resolve: (name: string, rrtype: string) => Promise<unknown[]> = dns.resolve;
  assert.deepEqual(await resolve('split.example', 'TXT'), [['v=spf1 ', '-all']]);
  const pending = await Promise.race([
    dns.resolve('slow.example', 'A').then(() => 'answered'),
    new Promise((r) => {
      setTimeout(() => {
        r('pending');
      }, 20);
    }),
  ]);
  assert.equal(pending, 'pending');
  assert.deepEqual(dns.queries.slice(0, 3), ['MX example.net', 'A mx.example.net', 'AAAA mx.example.net']);
  // Answers are copies: a caller that sorts them does not change the zone.
  (await dns.resolveMx('example.net')).pop();
  assert.equal((await dns.resolveMx('example.net')).length, 1);
});

test('fakeScanner: GTUBE is spam by default; calls and inputs are recorded', async () => {
  const spam = fakeScanner();
  const base = {
    from: 'a@example.org',
    to: ['b@example.net'],
    config: { plugins: ['fake-scanner', 'scan-all'] },
  };
  const ham = await runTransaction([spam.plugin, scanAllPlugin], {
    ...base,
    message: 'Subject: hi\r\n\r\nhello\r\n',
  });
  assert.deepEqual(ham.outcomes, { 'b@example.net': { kind: 'deliver' } });
  const gtube = await runTransaction([spam.plugin, scanAllPlugin], {
    ...base,
    message: `Subject: spam\r\n\r\n${GTUBE}\r\n`,
  });
  assert.deepEqual(gtube.outcomes, { 'b@example.net': { kind: 'hold', reason: 'spam' } });
  assert.equal(spam.calls.scan, 2);
  assert.equal(spam.scanned[1]?.context?.from, 'a@example.org');
  assert.ok(spam.scanned[1]?.raw.includes(GTUBE));
  assert.equal(spam.scanned[1]?.size, gtube.message?.length);
  await spam.scanner.learn?.({ size: 5, openMessage: () => Readable.from([Buffer.from('hello')]) }, 'ham');
  assert.equal(spam.calls.learn, 1);
  assert.deepEqual(
    spam.learned.map((l) => [l.label, l.raw.toString()]),
    [['ham', 'hello']],
  );
  assert.equal('learn' in fakeScanner({ learn: false }).scanner, false);
});

test('fakeScanner: a verdict function, partial verdicts, a failing scanner, two scanners combined', async () => {
  const scored = fakeScanner({
    name: 'scored',
    verdict: ({ raw }) => ({ score: raw.includes('cheap') ? 7 : 1, rules: [{ name: 'CHEAP', score: 6 }] }),
  });
  const v = await scored.scanner.scan({ size: 5, openMessage: () => Readable.from([Buffer.from('cheap')]) });
  assert.deepEqual([v.scanner, v.score, v.isSpam, v.threshold], ['scored', 7, true, 5]);
  const down = fakeScanner({
    name: 'down',
    verdict: () => {
      throw new Error('connection refused');
    },
  });
  const consumer = definePlugin({
    name: 'consumer',
    version: '1.0.0',
    core: '^1',
    requires: ['spam-scanner'],
    setup(ctx) {
      const s = ctx.service('spam-scanner');
      ctx.hook('data', async (tx) => {
        const r = await s.scan(tx);
        tx.results.set('scanner', r.scanner);
        return r.isSpam ? verdict.hold('spam') : verdict.next();
      });
    },
  });
  const failed = await runTransaction([down.plugin, consumer], {
    from: 'a@example.org',
    to: ['b@example.net'],
    message: 'Subject: x\r\n\r\nx\r\n',
  });
  assert.equal(failed.replies.data?.code, 451);
  const other = fakeScanner({ name: 'other', verdict: 'spam' });
  const both = await runTransaction([scored.plugin, other.plugin, consumer], {
    from: 'a@example.org',
    to: ['b@example.net'],
    message: 'Subject: x\r\n\r\nx\r\n',
    config: { scanning: { policy: 'any' } },
  });
  assert.equal(scored.calls.scan, 2);
  assert.equal(other.calls.scan, 1);
  assert.deepEqual(both.results.find((r) => r.key === 'scanner')?.value, 'combined');
  assert.deepEqual(both.outcomes, { 'b@example.net': { kind: 'hold', reason: 'spam' } });
});
