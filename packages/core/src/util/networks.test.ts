import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidrError, networkList } from './networks.js';

test('networks: CIDR blocks, single addresses, IPv4-mapped IPv6, and the same answer the second time', () => {
  const list = networkList(['127.0.0.0/8', '192.0.2.7', '2001:db8::/32']);
  for (let round = 0; round < 2; round++) {
    assert.equal(list.has('127.0.0.1'), true);
    assert.equal(list.has('::ffff:127.0.0.1'), true);
    assert.equal(list.has('192.0.2.7'), true);
    assert.equal(list.has('192.0.2.8'), false);
    assert.equal(list.has('2001:db8::25'), true);
    assert.equal(list.has('2001:db9::25'), false);
    assert.equal(list.has('not an address'), false);
  }
});

test('networks: many distinct addresses (the remembered answers are bounded) stay right', () => {
  const list = networkList(['10.0.0.0/16']);
  for (let i = 0; i < 10_000; i++) {
    const ip = `10.${i % 2 ? 0 : 1}.${(i >> 8) & 255}.${i & 255}`;
    assert.equal(list.has(ip), i % 2 === 1, ip);
  }
});

test('networks: invalid entries are named', () => {
  assert.match(cidrError('10.0.0.0/33') ?? '', /prefix length outside 0\.\.32/);
  assert.match(cidrError('example.org') ?? '', /not an IPv4 or IPv6 address/);
  assert.equal(cidrError('::1/128'), undefined);
});
