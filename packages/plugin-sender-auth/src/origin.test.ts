/**
 * origin.test.ts — walking real-world-shaped Received chains (acceptance 1).
 *
 * The operator's network is 198.51.100.0/24 (mx1 .10, mailbox host .20);
 * the Internet is 203.0.113.0/24 and 2001:db8:beef::/48; private ranges are
 * ignored. Each chain is the header block as smarthold receives it: the
 * topmost line was written by the client that connects to smarthold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { networkList } from '@smarthold/core';
import { DEFAULT_IGNORE_NETWORKS } from './config.js';
import { findOrigin, type Origin } from './origin.js';

const ourNetworks = networkList(['198.51.100.0/24', '2001:db8:aaaa::/48', '127.0.0.0/8', '::1/128']);
const ignoreNetworks = networkList(DEFAULT_IGNORE_NETWORKS);
const D = 'Mon, 6 Jan 2025 10:00:00 +0100';

const walk = (clientIp: string, received: string[], clientHelo?: string): Origin =>
  findOrigin({ clientIp, clientHelo, received, ourNetworks, ignoreNetworks });

function entry(o: Origin): { ip: string; helo: string | undefined; line: number } {
  assert.equal(o.kind, 'external', JSON.stringify(o));
  if (o.kind !== 'external') throw new Error('unreachable');
  return { ip: o.ip, helo: o.helo, line: o.line };
}

describe('findOrigin', () => {
  test('Postfix forwarding chain: mailbox host ← mx1 ← external sender', () => {
    const o = walk('198.51.100.20', [
      `from mx1.isp.example (mx1.isp.example [198.51.100.10]) by mbox.isp.example (Postfix) with ESMTPS id 4Xk2M for <bob@isp.example>; ${D}`,
      `from mail.sender.example (mail.sender.example [203.0.113.5]) by mx1.isp.example (Postfix) with ESMTPS id 4Xk2L for <bob@isp.example>; ${D}`,
      `from workstation (unknown [192.168.7.7]) by mail.sender.example (Postfix) with ESMTP id 9; ${D}`,
    ]);
    assert.deepEqual(entry(o), { ip: '203.0.113.5', helo: 'mail.sender.example', line: 1 });
    assert.deepEqual(
      o.steps.map((s) => s.as),
      ['ours', 'ours', 'external'],
    );
  });

  test('forged lines below the entry are never read', () => {
    // The external sender planted lines claiming our own network, and an unparseable one.
    const o = walk('198.51.100.20', [
      `from mx1.isp.example (mx1.isp.example [198.51.100.10]) by mbox.isp.example (Postfix) with ESMTPS id 1; ${D}`,
      `from spammer.example (spammer.example [203.0.113.66]) by mx1.isp.example (Postfix) with ESMTP id 2; ${D}`,
      `from mx1.isp.example (mx1.isp.example [198.51.100.10]) by spammer.example (Postfix) with ESMTP id 3; ${D}`,
      `from trusted (trusted [127.0.0.1]) by mx1.isp.example (Postfix) with ESMTP id 4; ${D}`,
      'this line is not a Received line at all',
    ]);
    assert.deepEqual(entry(o), { ip: '203.0.113.66', helo: 'spammer.example', line: 1 });
  });

  test('an external client is the entry, whatever its headers claim', () => {
    const o = walk(
      '203.0.113.99',
      [
        `from mx1.isp.example (mx1.isp.example [198.51.100.10]) by mbox.isp.example (Postfix) with ESMTP id 1; ${D}`,
      ],
      'liar.example',
    );
    assert.deepEqual(entry(o), { ip: '203.0.113.99', helo: 'liar.example', line: -1 });
  });

  test('an IPv4-mapped client address is judged as IPv4', () => {
    const o = walk('::ffff:198.51.100.20', [
      `from x (x [203.0.113.8]) by mbox.isp.example (Postfix) with ESMTP id 1; ${D}`,
    ]);
    assert.deepEqual(entry(o), { ip: '203.0.113.8', helo: 'x', line: 0 });
  });

  test('Exim over IPv6', () => {
    const o = walk('2001:db8:aaaa::20', [
      `from mx1.isp.example ([2001:db8:aaaa::10]:41234 helo=mx1.isp.example) by mbox.isp.example with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@sender.example>) id 1tUvWx-000abc-2Z; ${D}`,
      `from h6.sender.example ([2001:db8:beef::77]:54321 helo=out.sender.example) by mx1.isp.example with esmtp (Exim 4.96) (envelope-from <a@sender.example>) id 1tUvWw-000abc-1Y; ${D}`,
    ]);
    assert.deepEqual(entry(o), { ip: '2001:db8:beef::77', helo: 'out.sender.example', line: 1 });
  });

  test('Sendmail with "may be forged"', () => {
    const o = walk('198.51.100.20', [
      `from mx1.isp.example (mx1.isp.example [198.51.100.10]) by mbox.isp.example (8.17.1/8.17.1) with ESMTP id 506A0a1b; ${D}`,
      `from helo.sender.example (rdns.sender.example [203.0.113.9] (may be forged)) by mx1.isp.example (8.17.1/8.17.1) with ESMTP id 506A0a1a; ${D}`,
    ]);
    assert.deepEqual(entry(o), { ip: '203.0.113.9', helo: 'helo.sender.example', line: 1 });
  });

  test('qmail: a .qmail forward re-injects, the walk goes past the local lines', () => {
    const o = walk('127.0.0.1', [
      '(qmail 4321 invoked by uid 1001); 6 Jan 2025 09:00:01 -0000',
      '(qmail 1234 invoked from network); 6 Jan 2025 09:00:00 -0000',
      'from unknown (HELO mail.sender.example) (203.0.113.50) by mail.isp.example with SMTP; 6 Jan 2025 09:00:00 -0000',
    ]);
    assert.deepEqual(entry(o), { ip: '203.0.113.50', helo: 'mail.sender.example', line: 2 });
    assert.deepEqual(
      o.steps.map((s) => s.as),
      ['ignored', 'local', 'local', 'external'],
    );
  });

  test('Exchange on premises behind private addresses', () => {
    const o = walk('10.0.0.5', [
      `from EX02.corp.example (10.0.0.6) by EX01.corp.example (10.0.0.5) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.1.2507.6; ${D}`,
      `from mail.sender.example (203.0.113.77) by EX02.corp.example (10.0.0.6) with Microsoft SMTP Server id 15.1.2507.6 via Frontend Transport; ${D}`,
    ]);
    assert.deepEqual(entry(o), { ip: '203.0.113.77', helo: 'mail.sender.example', line: 1 });
  });

  test('Office 365 tenant as ours: internal, checked against our public IPv6', () => {
    const nets = networkList(['2603:10a6::/32', '40.107.0.0/16']);
    const o = findOrigin({
      clientIp: '40.107.22.105',
      received: [
        `from AM6PR01MB1111.eurprd01.prod.exchangelabs.com (2603:10a6:20b:11::12) by AM6PR01MB2222.eurprd01.prod.exchangelabs.com (2603:10a6:20b:12::13) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7270.12; ${D}`,
        `from AM6PR01MB1111.eurprd01.prod.exchangelabs.com ([fe80::1c2d:3e4f:5a6b:7c8d]) by AM6PR01MB1111.eurprd01.prod.exchangelabs.com ([fe80::1c2d:3e4f:5a6b:7c8d%5]) with mapi id 15.20.7270.010; ${D}`,
      ],
      ourNetworks: nets,
      ignoreNetworks,
    });
    assert.equal(o.kind, 'internal');
    assert.equal(o.kind === 'internal' ? o.ip : undefined, '2603:10a6:20b:11::12');
  });

  test('Gmail lines are read only when Google is listed as ours', () => {
    const received = [
      `from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx1.isp.example (Postfix) with ESMTPS id 1; ${D}`,
      `from [192.168.1.5] (c-73-1-2-3.hsd1.ma.comcast.net. [73.1.2.3]) by smtp.gmail.com with ESMTPSA id x1sm; ${D}`,
    ];
    assert.deepEqual(entry(walk('198.51.100.10', received)), {
      ip: '209.85.220.41',
      helo: 'mail-sor-f41.google.com',
      line: 0,
    });
    const withGoogle = findOrigin({
      clientIp: '198.51.100.10',
      received,
      ourNetworks: networkList(['198.51.100.0/24', '209.85.128.0/17']),
      ignoreNetworks,
    });
    assert.deepEqual(entry(withGoogle), { ip: '73.1.2.3', helo: '[192.168.1.5]', line: 1 });
  });

  test('internal: a local submission with no external hop', () => {
    const o = walk('127.0.0.1', [`by mbox.isp.example (Postfix, from userid 1000) id 4Xk2M; ${D}`]);
    assert.deepEqual(o, {
      kind: 'internal',
      steps: [
        { line: -1, ip: '127.0.0.1', as: 'ignored' },
        { line: 0, by: 'mbox.isp.example', as: 'local' },
      ],
    });
  });

  test('internal: the deepest public address of ours is kept for SPF', () => {
    const o = walk('198.51.100.20', [
      `from [192.168.1.5] (unknown [192.168.1.5]) by mbox.isp.example (Postfix) with ESMTPSA id 1; ${D}`,
    ]);
    assert.equal(o.kind, 'internal');
    assert.equal(o.kind === 'internal' ? o.ip : undefined, '198.51.100.20');
  });

  test('internal: no Received lines at all', () => {
    assert.equal(walk('127.0.0.1', []).kind, 'internal');
  });

  test('a line that must be read and cannot be parsed says so', () => {
    const line = `from somewhere by mbox.isp.example with SMTP; ${D}`;
    const o = walk('198.51.100.20', [line, `from x (x [203.0.113.1]) by y with SMTP; ${D}`]);
    assert.equal(o.kind, 'unparseable');
    if (o.kind !== 'unparseable') return;
    assert.equal(o.line, 0);
    assert.equal(o.text, line);
    assert.match(o.reason, /no IP address/);
  });

  test('the result is plain JSON', () => {
    const o = walk('198.51.100.20', [`from x (x [203.0.113.1]) by y with SMTP; ${D}`]);
    assert.deepEqual(JSON.parse(JSON.stringify(o)), o);
  });
});
