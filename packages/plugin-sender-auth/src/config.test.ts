/**
 * config.test.ts — the config section and the domain list files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_IGNORE_NETWORKS, senderAuthConfig, STRICT_RECEIVERS } from './config.js';
import { addressDomain, domainSet, ListFileError, parseDomainList, readDomainList } from './lists.js';

describe('senderAuthConfig', () => {
  test('defaults', () => {
    const c = senderAuthConfig.parse({});
    assert.deepEqual(c.our_networks, ['127.0.0.0/8', '::1/128']);
    assert.deepEqual(c.ignore_networks, DEFAULT_IGNORE_NETWORKS);
    assert.deepEqual(c.filter_domains, STRICT_RECEIVERS);
    assert.ok(c.filter_domains.includes('aol.com') && c.filter_domains.includes('gmail.com'));
    assert.equal(c.spf_timeout, 5000);
    assert.equal(c.mx_cache_ttl, 3_600_000);
    assert.equal(c.notify_external_senders, false);
    assert.equal(c.check_every_message, true);
    assert.equal(c.our_domains_file, undefined);
  });
  test('normalizes domains and patterns; spf_timeout takes ms or a duration', () => {
    const c = senderAuthConfig.parse({
      our_domains: ['ISP.Example.'],
      filter_mx_patterns: ['*.YahooDNS.net'],
      spf_timeout: '2s',
    });
    assert.deepEqual(c.our_domains, ['isp.example']);
    assert.deepEqual(c.filter_mx_patterns, ['*.yahoodns.net']);
    assert.equal(c.spf_timeout, 2000);
    assert.equal(senderAuthConfig.parse({ spf_timeout: 750 }).spf_timeout, 750);
  });
  test('rejects bad entries and unknown keys, naming them', () => {
    const bad = senderAuthConfig.safeParse({
      our_domains: ['not a domain'],
      our_networks: ['10.0.0.0/33'],
      filter_mx_patterns: ['mx*.example'],
    });
    assert.equal(bad.success, false);
    const text = JSON.stringify(bad.error?.issues);
    assert.match(text, /not a domain name/);
    assert.match(text, /prefix length/);
    assert.match(text, /not an MX host pattern/);
    assert.equal(senderAuthConfig.safeParse({ our_domain: ['x.example'] }).success, false);
  });
  test('every key is described', () => {
    for (const [key, schema] of Object.entries(senderAuthConfig.shape)) {
      assert.ok(schema.description, `${key} has a description`);
    }
  });
});

describe('domain lists', () => {
  test('one per line, comments and blank lines skipped', () => {
    assert.deepEqual(
      parseDomainList('# strict receivers\naol.com\n\n  Comcast.NET  # cable\r\nverizon.net\n', 'x'),
      ['aol.com', 'comcast.net', 'verizon.net'],
    );
  });
  test('a bad line names the file and line', () => {
    assert.throws(
      () => parseDomainList('aol.com\nnot a domain\n', '/etc/f'),
      (e: Error) => e instanceof ListFileError && e.message.startsWith('/etc/f:2:'),
    );
  });
  test('relative paths resolve against the given directory', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sender-auth-'));
    writeFileSync(path.join(dir, 'filter.txt'), 'aol.com\n');
    assert.deepEqual(readDomainList('filter.txt', dir), ['aol.com']);
    assert.throws(() => readDomainList('missing.txt', dir), /cannot read domain list .*missing\.txt/);
  });
  test('domainSet matches parents; addressDomain', () => {
    const s = domainSet(['isp.example']);
    assert.equal(s.match('mail.isp.example'), 'isp.example');
    assert.equal(s.match('notisp.example'), undefined);
    assert.equal(addressDomain('Bob@Mail.ISP.example'), 'mail.isp.example');
    assert.equal(addressDomain(''), undefined);
  });
});
