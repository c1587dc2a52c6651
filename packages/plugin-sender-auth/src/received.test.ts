/**
 * received.test.ts — one Received line per MTA family, as those MTAs write them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ipFromToken, parseReceived } from './received.js';

const DATE = 'Mon, 6 Jan 2025 10:00:00 +0100 (CET)';

describe('parseReceived: Postfix', () => {
  test('name, rDNS and IPv4, with the TLS comments Postfix adds', () => {
    const r = parseReceived(
      `from mail.sender.example (mail.sender.example [203.0.113.5])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n\t(No client certificate requested)\r\n\tby mx1.isp.example (Postfix) with ESMTPS id 4Xk2Lz0abcz9sWq\r\n\tfor <bob@isp.example>; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '203.0.113.5',
      helo: 'mail.sender.example',
      by: 'mx1.isp.example',
      with: 'ESMTPS',
    });
  });
  test('unknown rDNS and an IPv6: literal', () => {
    const r = parseReceived(
      `from helo.example (unknown [IPv6:2001:db8:1::25]) by mx1.isp.example (Postfix) with ESMTP id 4Y; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '2001:db8:1::25',
      helo: 'helo.example',
      by: 'mx1.isp.example',
      with: 'ESMTP',
    });
  });
  test('rDNS differs from HELO', () => {
    const r = parseReceived(
      `from laptop (dsl-1.access.example [198.18.0.9]) (Authenticated sender: bob) by smtp.isp.example (Postfix) with ESMTPSA id 1; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '198.18.0.9',
      helo: 'laptop',
      rdns: 'dsl-1.access.example',
      by: 'smtp.isp.example',
      with: 'ESMTPSA',
    });
  });
  test('pickup from a local user is a local hand-over', () => {
    const r = parseReceived(`by mbox.isp.example (Postfix, from userid 1000) id 4Xk2M; ${DATE}`);
    assert.equal(r.kind, 'local');
  });
});

describe('parseReceived: Exim', () => {
  test('rDNS name with a different HELO', () => {
    const r = parseReceived(
      `from host.sender.example ([198.51.100.120] helo=bogus.example) by mx.isp.example with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@sender.example>) id 1tUvWx-000abc-2Z for x@isp.example; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '198.51.100.120',
      helo: 'bogus.example',
      rdns: 'host.sender.example',
      by: 'mx.isp.example',
      with: 'esmtps',
    });
  });
  test('no rDNS: the literal comes first, HELO in the comment (which is itself a literal)', () => {
    const r = parseReceived(
      `from [198.51.100.121] (port=43210 helo=[10.1.1.1]) by mx.isp.example with esmtp (Exim 4.96) id 1tUv; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '198.51.100.121',
      helo: '[10.1.1.1]',
      by: 'mx.isp.example',
      with: 'esmtp',
    });
  });
  test('IPv6 with a port', () => {
    const r = parseReceived(
      `from h6.sender.example ([2001:db8:beef::77]:54321 helo=h6.sender.example) by mx.isp.example with esmtp (Exim 4.96) id 1; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '2001:db8:beef::77',
      helo: 'h6.sender.example',
      by: 'mx.isp.example',
      with: 'esmtp',
    });
  });
  test('local submission', () => {
    const r = parseReceived(
      `from bob by shell.isp.example with local (Exim 4.96) (envelope-from <bob@isp.example>) id 1tUv; ${DATE}`,
    );
    assert.deepEqual(r, { kind: 'local', by: 'shell.isp.example', note: 'with local' });
  });
});

describe('parseReceived: Sendmail', () => {
  test('"may be forged" nested comment', () => {
    const r = parseReceived(
      `from helo.sender.example (rdns.sender.example [203.0.113.9] (may be forged)) by mail.isp.example (8.15.2/8.15.2) with ESMTP id 506A0a1b; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '203.0.113.9',
      helo: 'helo.sender.example',
      rdns: 'rdns.sender.example',
      by: 'mail.isp.example',
      with: 'ESMTP',
    });
  });
  test('ident user and IPv6', () => {
    const r = parseReceived(
      `from helo.example (ident@rdns.example [IPv6:2001:db8::9]) by mail.isp.example (8.17.1/8.17.1) with ESMTP id 1; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '2001:db8::9',
      helo: 'helo.example',
      rdns: 'rdns.example',
      by: 'mail.isp.example',
      with: 'ESMTP',
    });
  });
  test('submit from a local user', () => {
    const r = parseReceived(
      `(from bob@localhost) by mail.isp.example (8.15.2/8.15.2/Submit) id 506A0a1c; ${DATE}`,
    );
    assert.deepEqual(r, { kind: 'local', by: 'mail.isp.example', note: 'from bob@localhost' });
  });
});

describe('parseReceived: qmail', () => {
  test('"invoked from network" and "invoked by uid" are local lines', () => {
    assert.deepEqual(parseReceived('(qmail 12345 invoked from network); 6 Jan 2025 09:00:00 -0000'), {
      kind: 'local',
      note: 'qmail 12345 invoked from network',
    });
    assert.deepEqual(parseReceived('(qmail 4321 invoked by uid 1001); 6 Jan 2025 09:00:00 -0000'), {
      kind: 'local',
      note: 'qmail 4321 invoked by uid 1001',
    });
  });
  test('unknown rDNS with a HELO comment and a bare address', () => {
    const r = parseReceived(
      'from unknown (HELO mail.sender.example) (203.0.113.50) by mail.isp.example with SMTP; 6 Jan 2025 09:00:00 -0000',
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '203.0.113.50',
      helo: 'mail.sender.example',
      by: 'mail.isp.example',
      with: 'SMTP',
    });
  });
  test('rDNS, a literal HELO, and user@ip', () => {
    const r = parseReceived(
      'from rdns.sender.example (HELO [192.168.0.2]) (user@203.0.113.51) by mail.isp.example with ESMTPA; 6 Jan 2025',
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '203.0.113.51',
      helo: '[192.168.0.2]',
      rdns: 'rdns.sender.example',
      by: 'mail.isp.example',
      with: 'ESMTPA',
    });
  });
  test('IPv6 (patched qmail) and an IPv4-mapped address', () => {
    assert.equal(
      (parseReceived('from unknown (HELO h) (2001:db8::51) by q with SMTP; d') as { ip: string }).ip,
      '2001:db8::51',
    );
    assert.equal(
      (parseReceived('from unknown (HELO h) (::ffff:203.0.113.52) by q with SMTP; d') as { ip: string }).ip,
      '203.0.113.52',
    );
  });
});

describe('parseReceived: Microsoft Exchange / Office 365', () => {
  test('Office 365 between mailbox servers, IPv6', () => {
    const r = parseReceived(
      `from AM6PR01MB1111.eurprd01.prod.exchangelabs.com (2603:10a6:20b:11::12) by AM6PR01MB2222.eurprd01.prod.exchangelabs.com (2603:10a6:20b:12::13) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7270.12; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '2603:10a6:20b:11::12',
      helo: 'AM6PR01MB1111.eurprd01.prod.exchangelabs.com',
      by: 'AM6PR01MB2222.eurprd01.prod.exchangelabs.com',
      with: 'Microsoft',
    });
  });
  test('on-premises Exchange receiving from the Internet, IPv4', () => {
    const r = parseReceived(
      `from mail.sender.example (203.0.113.77) by EX02.corp.example (10.0.0.6) with Microsoft SMTP Server id 15.1.2507.6 via Frontend Transport; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '203.0.113.77',
      helo: 'mail.sender.example',
      by: 'EX02.corp.example',
      with: 'Microsoft',
    });
  });
  test('MAPI submission with a link-local address and a zone index', () => {
    const r = parseReceived(
      `from EX01.corp.example ([fe80::1c2d:3e4f:5a6b:7c8d]) by EX01.corp.example ([fe80::1c2d:3e4f:5a6b:7c8d%12]) with mapi id 15.01.2507.039; ${DATE}`,
    );
    assert.equal(r.kind, 'hop');
    assert.equal((r as { ip: string }).ip, 'fe80::1c2d:3e4f:5a6b:7c8d');
  });
});

describe('parseReceived: Gmail', () => {
  test('mx.google.com receiving, rDNS with a trailing dot', () => {
    const r = parseReceived(
      `from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with SMTPS id a1sor1234567qkb.12.2025.01.06.01.00.00 for <x@gmail.com>; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '209.85.220.41',
      helo: 'mail-sor-f41.google.com',
      by: 'mx.google.com',
      with: 'SMTPS',
    });
  });
  test('submission: a literal HELO and the real address in the comment', () => {
    const r = parseReceived(
      `from [192.168.1.5] (c-73-1-2-3.hsd1.ma.comcast.net. [73.1.2.3]) by smtp.gmail.com with ESMTPSA id x1sm; ${DATE}`,
    );
    assert.deepEqual(r, {
      kind: 'hop',
      ip: '73.1.2.3',
      helo: '[192.168.1.5]',
      rdns: 'c-73-1-2-3.hsd1.ma.comcast.net',
      by: 'smtp.gmail.com',
      with: 'ESMTPSA',
    });
  });
  test('IPv6 from Google into Postfix', () => {
    const r = parseReceived(
      `from mail-pj1-x1030.google.com (mail-pj1-x1030.google.com [IPv6:2607:f8b0:4864:20::1030]) by mx1.isp.example (Postfix) with ESMTPS id 1; ${DATE}`,
    );
    assert.equal((r as { ip: string }).ip, '2607:f8b0:4864:20::1030');
  });
  test("Google's internal lines have no from clause", () => {
    assert.equal(
      parseReceived(`by 2002:a05:6a10:a2c9:b0:4c9:8ca1:b312 with SMTP id r9csp2451234pxe; ${DATE}`).kind,
      'local',
    );
  });
});

describe('parseReceived: what it refuses to guess', () => {
  test('a from clause without an address', () => {
    assert.deepEqual(parseReceived(`from somewhere by someplace with SMTP; ${DATE}`), {
      kind: 'unparseable',
      reason: 'no IP address in the from clause',
    });
  });
  test('no clauses at all', () => {
    assert.equal(parseReceived('garbage').kind, 'unparseable');
    assert.equal(parseReceived('').kind, 'unparseable');
  });
  test('a bogus literal is not an address', () => {
    assert.equal(parseReceived(`from x ([999.1.1.1]) by y with SMTP; ${DATE}`).kind, 'unparseable');
  });
});

describe('ipFromToken', () => {
  test('literals, ports, prefixes and zones', () => {
    assert.equal(ipFromToken('[192.0.2.1]'), '192.0.2.1');
    assert.equal(ipFromToken('[192.0.2.1]:25'), '192.0.2.1');
    assert.equal(ipFromToken('[IPv6:2001:DB8::1]'), '2001:db8::1');
    assert.equal(ipFromToken('user@192.0.2.1'), '192.0.2.1');
    assert.equal(ipFromToken('fe80::1%eth0'), 'fe80::1');
    assert.equal(ipFromToken('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(ipFromToken('mail.example'), undefined);
    assert.equal(ipFromToken('2048'), undefined);
  });
});
