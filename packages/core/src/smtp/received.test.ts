import assert from 'node:assert/strict';
import { test } from 'node:test';
import { receivedLine } from './received.js';

const base = {
  helo: 'mx1.example.org',
  clientHostname: '[192.0.2.1]',
  remoteAddress: '::ffff:192.0.2.1',
  hostname: 'relay.example.net',
  esmtp: true,
  tls: false,
  auth: false,
  queueId: '237ZZVL72H3720',
  recipients: ['b@example.com'],
  date: new Date(Date.UTC(2026, 10, 23, 7, 27, 56)),
};

test('RFC 5321 Received line with the single recipient', () => {
  assert.equal(
    receivedLine(base),
    'Received: from mx1.example.org ([192.0.2.1])\r\n\tby relay.example.net (smarthold) with ESMTP id 237ZZVL72H3720\r\n\tfor <b@example.com>;\r\n\tMon, 23 Nov 2026 07:27:56 +0000\r\n',
  );
});

test('no "for" with several recipients; IPv6 literal; RFC 3848 keywords', () => {
  const line = receivedLine({
    ...base,
    remoteAddress: '2001:db8::1',
    recipients: ['a@x', 'b@y'],
    tls: true,
    auth: true,
  });
  assert.match(line, /\(\[IPv6:2001:db8::1\]\)/);
  assert.match(line, /with ESMTPSA id/);
  assert.doesNotMatch(line, /for </);
});
