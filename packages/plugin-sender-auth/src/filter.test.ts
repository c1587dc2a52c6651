/**
 * filter.test.ts — filtered recipients by domain and by MX host (acceptance 4).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mxMatches, RecipientFilter } from './filter.js';
import { domainSet } from './lists.js';
import { fakeDns } from './test-dns.js';

const zone = {
  'yahoo-hosted.example': {
    MX: [
      { exchange: 'mta6.am0.yahoodns.net', priority: 1 },
      { exchange: 'mta5.am0.yahoodns.net', priority: 1 },
    ],
  },
  'gsuite.example': {
    MX: [
      { exchange: 'alt1.aspmx.l.google.com', priority: 5 },
      { exchange: 'aspmx.l.google.com', priority: 1 },
    ],
  },
  'plain.example': { MX: [{ exchange: 'mx.plain.example', priority: 10 }] },
  'nomx.example': { A: ['192.0.2.1'] },
  'nullmx.example': { MX: [{ exchange: '', priority: 0 }] },
};

function make(now = { t: 0 }) {
  const dns = fakeDns(zone, { fail: { 'broken.example': 'ETIMEOUT' } });
  const filter = new RecipientFilter({
    domains: domainSet(['aol.com', 'comcast.net']),
    mxPatterns: ['*.yahoodns.net', '*.google.com', 'nomx.example'],
    resolver: dns.resolve,
    mxTimeoutMs: 1000,
    cacheTtlMs: 60_000,
    now: () => now.t,
  });
  return { filter, dns, now };
}

describe('RecipientFilter by domain', () => {
  const { filter } = make();
  test('the domain and its subdomains, not look-alikes', () => {
    assert.deepEqual(filter.checkDomain('Bob@AOL.com'), {
      filtered: true,
      rule: { kind: 'domain', domain: 'aol.com' },
    });
    assert.deepEqual(filter.checkDomain('bob@mail.aol.com'), {
      filtered: true,
      rule: { kind: 'domain', domain: 'aol.com' },
    });
    assert.deepEqual(filter.checkDomain('bob@notaol.com'), { filtered: false });
    assert.deepEqual(filter.checkDomain('bob@aol.com.evil.example'), { filtered: false });
    assert.deepEqual(filter.checkDomain('bob@comcast.net.'), {
      filtered: true,
      rule: { kind: 'domain', domain: 'comcast.net' },
    });
  });
  test('addresses without a domain are not filtered', () => {
    assert.deepEqual(filter.checkDomain('postmaster'), { filtered: false });
    assert.deepEqual(filter.checkDomain('bob@[192.0.2.1]'), { filtered: false });
  });
});

describe('RecipientFilter by MX host', () => {
  test('a domain hosted by a strict provider', async () => {
    const { filter } = make();
    assert.deepEqual(await filter.check('x@yahoo-hosted.example'), {
      filtered: true,
      rule: { kind: 'mx', pattern: '*.yahoodns.net', mx: 'mta6.am0.yahoodns.net' },
    });
    assert.deepEqual(await filter.check('x@gsuite.example'), {
      filtered: true,
      rule: { kind: 'mx', pattern: '*.google.com', mx: 'aspmx.l.google.com' },
    });
    assert.deepEqual(await filter.check('x@plain.example'), { filtered: false });
  });
  test('a domain match needs no lookup', async () => {
    const { filter, dns } = make();
    assert.equal((await filter.check('x@aol.com')).rule?.kind, 'domain');
    assert.deepEqual(dns.queries, []);
  });
  test('no MX: the domain itself is the implicit MX (RFC 5321 §5.1); null MX matches nothing', async () => {
    const { filter } = make();
    assert.deepEqual(await filter.check('x@nomx.example'), {
      filtered: true,
      rule: { kind: 'mx', pattern: 'nomx.example', mx: 'nomx.example' },
    });
    assert.deepEqual(await filter.check('x@nullmx.example'), { filtered: false });
  });
  test('answers are cached for the TTL, and concurrent lookups are shared', async () => {
    const { filter, dns, now } = make();
    await Promise.all([filter.check('a@plain.example'), filter.check('b@plain.example')]);
    await filter.check('c@plain.example');
    assert.deepEqual(dns.queries, ['MX plain.example']);
    now.t = 60_001;
    await filter.check('d@plain.example');
    assert.equal(dns.queries.length, 2);
  });
  test('a failed lookup is not filtered, says so, and is not cached', async () => {
    const { filter, dns } = make();
    const r = await filter.check('x@broken.example');
    assert.equal(r.filtered, false);
    assert.match(r.mxError ?? '', /MX lookup for broken\.example failed: ETIMEOUT/);
    await filter.check('x@broken.example');
    assert.equal(dns.queries.length, 2);
  });
  test('a lookup that hangs ends at the MX deadline', async () => {
    const dns = fakeDns({}, { hang: ['slow.example'] });
    const filter = new RecipientFilter({
      domains: domainSet([]),
      mxPatterns: ['*.google.com'],
      resolver: dns.resolve,
      mxTimeoutMs: 50,
      cacheTtlMs: 1000,
    });
    const r = await filter.check('x@slow.example');
    assert.equal(r.filtered, false);
    assert.match(r.mxError ?? '', /ETIMEOUT/);
  });
});

describe('mxMatches', () => {
  test('wildcards match one or more labels below the domain, not the domain itself', () => {
    assert.ok(mxMatches('*.google.com', 'ALT1.aspmx.l.google.com.'));
    assert.ok(!mxMatches('*.google.com', 'google.com'));
    assert.ok(!mxMatches('*.google.com', 'notgoogle.com'));
    assert.ok(mxMatches('mx.example', 'mx.example'));
    assert.ok(!mxMatches('mx.example', 'a.mx.example'));
  });
});
