/**
 * service.test.ts — the sender-auth service on hand-made transactions.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  headerList,
  parseHeaders,
  type Json,
  type MessageTransaction,
  type ResultRecord,
  type Results,
} from '@smarthold/core';
import { senderAuthConfig } from './config.js';
import { createSenderAuthService } from './service.js';
import { fakeDns, txt } from './test-dns.js';

function results(): Results & { records: ResultRecord[] } {
  const records: ResultRecord[] = [];
  return {
    records,
    set(key: string, value: Json, opts?: { recipient?: string }) {
      records.push({
        plugin: 'caller',
        key,
        value,
        ...(opts?.recipient ? { recipient: opts.recipient } : {}),
      });
    },
    get: (plugin, key, opts) =>
      records.find((r) => r.plugin === plugin && r.key === key && r.recipient === opts?.recipient)?.value,
    all: () => records,
  };
}

let n = 0;
function tx(opts: {
  from: string;
  to?: string[];
  client?: string;
  helo?: string;
  headers: string;
}): MessageTransaction & { results: ReturnType<typeof results> } {
  return {
    queueId: `Q${++n}`,
    session: {
      id: 's',
      remoteAddress: opts.client ?? '198.51.100.20',
      remotePort: 4000,
      clientHostname: '[198.51.100.20]',
      localAddress: '127.0.0.1',
      localPort: 25,
      helo: opts.helo ?? 'mbox.isp.example',
      tls: false,
      user: undefined,
      trustedNetwork: true,
    },
    from: opts.from,
    to: opts.to ?? ['x@aol.com', 'y@plain.example'],
    results: results(),
    headers: headerList(parseHeaders(Buffer.from(opts.headers.replace(/\n/g, '\r\n')))),
    size: 100,
    openMessage: () => Readable.from([]),
  };
}

const dns = fakeDns({
  'sender.example': { TXT: txt('v=spf1 ip4:203.0.113.0/24 -all') },
  'strict.example': { TXT: txt('v=spf1 -all') },
  'isp.example': { TXT: txt('v=spf1 ip4:198.51.100.0/24 -all') },
  'plain.example': { MX: [{ exchange: 'mx.plain.example', priority: 10 }] },
});
const service = createSenderAuthService({
  config: senderAuthConfig.parse({
    our_networks: ['198.51.100.0/24', '127.0.0.0/8'],
    our_domains: ['isp.example'],
    filter_domains: ['aol.com'],
    filter_mx_patterns: ['*.google.com'],
    trusted_authserv_ids: ['mx1.isp.example'],
  }),
  ourDomains: ['isp.example'],
  filterDomains: ['aol.com'],
  resolver: dns.resolve,
  clock: { now: () => Date.now() },
  mta: 'smarthold.test',
});

const forwarded = (sender: string, extra = ''): string =>
  `${extra}Received: from mx1.isp.example (mx1.isp.example [198.51.100.10])
\tby mbox.isp.example (Postfix) with ESMTPS id 1; Mon, 6 Jan 2025 10:00:00 +0100
Received: from mail.sender.example (mail.sender.example [203.0.113.5])
\tby mx1.isp.example (Postfix) with ESMTPS id 2; Mon, 6 Jan 2025 10:00:00 +0100
Received: from forged (forged [198.51.100.10]) by mail.sender.example; Mon, 6 Jan 2025
From: <${sender}>
Subject: hi
`;

describe('SenderAuthService.classify', () => {
  test('forwarded mail: SPF is checked at the entry IP, not at our mailbox host', async () => {
    const t = tx({ from: 'a@sender.example', headers: forwarded('a@sender.example') });
    const c = await service.classify(t);
    assert.equal(c.ours, true);
    assert.equal(c.reason, 'spf-pass');
    assert.equal(c.spf.ip, '203.0.113.5');
    assert.equal(c.origin.kind, 'external');
    const keys = t.results.records.map((r) => r.key);
    assert.deepEqual(keys, ['origin', 'spf', 'classification']);
    assert.deepEqual(t.results.get('caller', 'classification'), {
      ours: true,
      reason: 'spf-pass',
      okToBounce: true,
      sender: 'a@sender.example',
    });
  });
  test('a forged sender from outside is not ours', async () => {
    const c = await service.classify(
      tx({ from: 'boss@strict.example', headers: forwarded('boss@strict.example') }),
    );
    assert.deepEqual([c.ours, c.reason, c.okToBounce], [false, 'spf-fail', false]);
  });
  test('our domain from outside, SPF fails: not ours; our network: ours', async () => {
    const outside = await service.classify(
      tx({ from: 'bob@isp.example', headers: forwarded('bob@isp.example') }),
    );
    assert.deepEqual([outside.ours, outside.reason], [false, 'spf-fail']);
    const inside = await service.classify(
      tx({
        from: 'bob@isp.example',
        headers:
          'Received: from [192.168.1.5] (unknown [192.168.1.5]) by mbox.isp.example (Postfix) with ESMTPSA id 1; Mon, 6 Jan 2025\nSubject: x\n',
      }),
    );
    assert.deepEqual([inside.ours, inside.reason, inside.spf.ip], [true, 'spf-pass', '198.51.100.20']);
    const local = await service.classify(
      tx({
        from: 'cron@other.example',
        client: '127.0.0.1',
        headers: 'Received: by mbox.isp.example (Postfix, from userid 0) id 1; Mon, 6 Jan 2025\n',
      }),
    );
    assert.deepEqual([local.ours, local.reason, local.spf.source], [true, 'our-network', 'skipped']);
  });
  test('cached per transaction: one SPF evaluation, results recorded once', async () => {
    const t = tx({ from: 'a@sender.example', headers: forwarded('a@sender.example') });
    const before = dns.queries.length;
    const [a, b] = await Promise.all([service.classify(t), service.classify({ ...t, results: results() })]);
    assert.equal(a, b);
    assert.equal(dns.queries.length - before, 1);
    assert.equal(t.results.records.length, 3);
  });
  test('a trusted Authentication-Results header is used instead of a lookup', async () => {
    const ar = 'Authentication-Results: mx1.isp.example; spf=softfail smtp.mailfrom=a@sender.example\n';
    const before = dns.queries.length;
    const c = await service.classify(
      tx({ from: 'a@sender.example', headers: forwarded('a@sender.example', ar) }),
    );
    assert.equal(dns.queries.length, before);
    assert.deepEqual([c.spf.result, c.spf.source, c.ours], ['softfail', 'authentication-results', false]);
  });
  test('an unparseable chain is reported, and SPF is not guessed', async () => {
    const c = await service.classify(
      tx({
        from: 'a@sender.example',
        headers: 'Received: from somewhere by mbox.isp.example with SMTP; Mon, 6 Jan 2025\n',
      }),
    );
    assert.equal(c.origin.kind, 'unparseable');
    assert.deepEqual([c.ours, c.reason, c.spf.source], [false, 'origin-unknown', 'skipped']);
  });
});

describe('SenderAuthService.filterRecipients and helpers', () => {
  test('records filtered per recipient', async () => {
    const t = tx({
      from: 'a@sender.example',
      to: ['x@mail.aol.com', 'y@plain.example'],
      headers: forwarded('a@sender.example'),
    });
    const r = await service.filterRecipients(t);
    assert.deepEqual(r, {
      'x@mail.aol.com': { filtered: true, rule: { kind: 'domain', domain: 'aol.com' } },
      'y@plain.example': { filtered: false },
    });
    assert.deepEqual(
      t.results.records.map((x) => [x.key, x.recipient]),
      [
        ['filtered', 'x@mail.aol.com'],
        ['filtered', 'y@plain.example'],
      ],
    );
  });
  test('ourDomain, isOurNetwork, isFiltered', async () => {
    assert.equal(service.ourDomain('Bob@Mail.ISP.example'), 'isp.example');
    assert.equal(service.ourDomain('isp.example'), 'isp.example');
    assert.equal(service.ourDomain('x@other.example'), undefined);
    assert.equal(service.isOurNetwork('198.51.100.7'), true);
    assert.equal(service.isOurNetwork('203.0.113.7'), false);
    assert.equal((await service.isFiltered('z@aol.com')).filtered, true);
  });
});
