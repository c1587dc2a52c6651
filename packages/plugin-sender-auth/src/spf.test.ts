/**
 * spf.test.ts — SPF at the entry IP with a fake resolver (acceptance 2).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkSpf, spfFromAuthResults, spfIdentity } from './spf.js';
import { fakeDns, txt, type Zone } from './test-dns.js';

const zone: Zone = {
  'pass.example': { TXT: txt('v=spf1 ip4:203.0.113.0/24 -all') },
  'fail.example': { TXT: txt('v=spf1 ip4:192.0.2.1 -all') },
  'soft.example': { TXT: txt('v=spf1 ip4:192.0.2.1 ~all') },
  'neutral.example': { TXT: txt('v=spf1 ?all') },
  'nospf.example': { TXT: txt('some-verification=abc') },
  'include.example': { TXT: txt('v=spf1 include:_spf.provider.example -all') },
  '_spf.provider.example': { TXT: txt('v=spf1 ip4:203.0.113.64/26 ip6:2001:db8:beef::/48 -all') },
  'redirect.example': { TXT: txt('v=spf1 redirect=_spf.provider.example') },
  'v6.example': { TXT: txt('v=spf1 ip6:2001:db8:beef::/48 -all') },
  'mail.helo.example': { TXT: txt('v=spf1 a -all'), A: ['203.0.113.25'] },
  'slow.example': { TXT: txt('v=spf1 include:hang.example -all') },
  'broken.example': { TXT: txt('v=spf1 ip4:203.0.113.1 foo:bar -all') },
  'two.example': { TXT: [['v=spf1 -all'], ['v=spf1 +all']] },
  'loop0.example': { TXT: txt('v=spf1 include:loop1.example -all') },
};
// A chain of 12 includes: more than the 10 lookups RFC 7208 §4.6.4 allows.
for (let i = 1; i <= 12; i++)
  zone[`loop${i}.example`] = { TXT: txt(`v=spf1 include:loop${i + 1}.example -all`) };

const dns = fakeDns(zone, { hang: ['hang.example'], fail: { 'servfail.example': 'ESERVFAIL' } });
const check = (sender: string, ip: string, helo?: string, timeoutMs = 2000) =>
  checkSpf({ sender, ip, helo, resolver: dns.resolve, timeoutMs, mta: 'smarthold.test' });

describe('checkSpf', () => {
  test('pass', async () => {
    const r = await check('alice@pass.example', '203.0.113.5', 'mail.pass.example');
    assert.equal(r.result, 'pass');
    assert.equal(r.identity, 'mailfrom');
    assert.equal(r.source, 'checked');
    assert.equal(r.ip, '203.0.113.5');
    assert.equal(r.record, 'v=spf1 ip4:203.0.113.0/24 -all');
  });
  test('fail', async () => {
    assert.equal((await check('alice@fail.example', '203.0.113.5')).result, 'fail');
  });
  test('softfail', async () => {
    assert.equal((await check('alice@soft.example', '203.0.113.5')).result, 'softfail');
  });
  test('neutral', async () => {
    assert.equal((await check('alice@neutral.example', '203.0.113.5')).result, 'neutral');
  });
  test('none: no SPF record, and no such domain', async () => {
    assert.equal((await check('alice@nospf.example', '203.0.113.5')).result, 'none');
    assert.equal((await check('alice@nowhere.example', '203.0.113.5')).result, 'none');
  });
  test('include', async () => {
    assert.equal((await check('a@include.example', '203.0.113.70')).result, 'pass');
    assert.equal((await check('a@include.example', '203.0.113.5')).result, 'fail');
  });
  test('redirect', async () => {
    assert.equal((await check('a@redirect.example', '203.0.113.70')).result, 'pass');
    assert.equal((await check('a@redirect.example', '198.51.100.1')).result, 'fail');
  });
  test('ip6, and an IPv6 entry IP against an include', async () => {
    assert.equal((await check('a@v6.example', '2001:db8:beef::77')).result, 'pass');
    assert.equal((await check('a@v6.example', '2001:db8:dead::77')).result, 'fail');
    assert.equal((await check('a@include.example', '2001:db8:beef::1')).result, 'pass');
  });
  test('temperror when a lookup outlives the deadline', async () => {
    const started = Date.now();
    const r = await check('a@slow.example', '203.0.113.5', undefined, 150);
    assert.equal(r.result, 'temperror');
    assert.ok(Date.now() - started < 1000, 'the deadline is kept');
  });
  test('temperror on a server failure', async () => {
    assert.equal((await check('a@servfail.example', '203.0.113.5')).result, 'temperror');
  });
  test('permerror: too many DNS lookups (RFC 7208 §4.6.4)', async () => {
    const r = await check('a@loop0.example', '203.0.113.5');
    assert.equal(r.result, 'permerror');
    assert.match(r.comment ?? '', /Too many DNS requests/);
  });
  test('permerror: an unknown mechanism, and two SPF records', async () => {
    assert.equal((await check('a@broken.example', '203.0.113.5')).result, 'permerror');
    assert.equal((await check('a@two.example', '203.0.113.5')).result, 'permerror');
  });
  test('the null sender is checked as postmaster@HELO (RFC 7208 §2.4)', async () => {
    const r = await check('', '203.0.113.25', 'mail.helo.example');
    assert.equal(r.result, 'pass');
    assert.equal(r.identity, 'helo');
    assert.equal(r.sender, 'postmaster@mail.helo.example');
    assert.equal((await check('', '203.0.113.26', 'mail.helo.example')).result, 'fail');
  });
  test('the null sender without a HELO is not checked', async () => {
    const r = await check('', '203.0.113.25');
    assert.equal(r.result, 'none');
    assert.equal(r.source, 'skipped');
  });
  test('the outcome is plain JSON', async () => {
    const r = await check('alice@pass.example', '203.0.113.5');
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });
});

describe('spfFromAuthResults', () => {
  const ar = { authservId: 'mx1.isp.example', result: 'pass', mailfrom: 'alice@pass.example' };
  test('used when it is about the same sender domain', () => {
    const r = spfFromAuthResults(ar, 'bob@pass.example', undefined, '203.0.113.5');
    assert.equal(r?.result, 'pass');
    assert.equal(r?.source, 'authentication-results');
    assert.equal(r?.authservId, 'mx1.isp.example');
  });
  test('ignored when it is about another identity (e.g. after SRS)', () => {
    assert.equal(
      spfFromAuthResults(ar, 'SRS0=abc=XY=pass.example=alice@fwd.isp.example', undefined, '203.0.113.5'),
      undefined,
    );
  });
  test('ignored for results RFC 7208 does not define', () => {
    assert.equal(
      spfFromAuthResults({ ...ar, result: 'policy' }, 'alice@pass.example', undefined, '203.0.113.5'),
      undefined,
    );
  });
  test('the null sender matches smtp.helo', () => {
    const r = spfFromAuthResults(
      { authservId: 'x', result: 'fail', helo: 'mail.helo.example' },
      '',
      'mail.helo.example',
      '203.0.113.5',
    );
    assert.equal(r?.result, 'fail');
    assert.equal(r?.identity, 'helo');
  });
});

describe('spfIdentity', () => {
  test('sender, postmaster@HELO, or nothing', () => {
    assert.deepEqual(spfIdentity('a@b.example', 'h'), { identity: 'mailfrom', address: 'a@b.example' });
    assert.deepEqual(spfIdentity('', 'h.example'), { identity: 'helo', address: 'postmaster@h.example' });
    assert.equal(spfIdentity('', undefined), undefined);
  });
});
