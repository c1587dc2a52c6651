/**
 * auth-results.test.ts — reading Authentication-Results (RFC 8601) from our own MX.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAuthResults, stripComments, trustedSpf } from './auth-results.js';

describe('parseAuthResults', () => {
  test('authserv-id, version, comments and the spf entry', () => {
    const r = parseAuthResults(
      'mx1.isp.example 1; dkim=pass header.d=sender.example; spf=softfail (mx1.isp.example: domain of transitioning a@sender.example does not designate 203.0.113.5 as permitted sender) smtp.mailfrom=a@sender.example smtp.helo=mail.sender.example; dmarc=none',
    );
    assert.deepEqual(r, {
      authservId: 'mx1.isp.example',
      spf: { result: 'softfail', mailfrom: 'a@sender.example', helo: 'mail.sender.example' },
    });
  });
  test('Gmail style, quoted values', () => {
    const r = parseAuthResults(
      'mx.google.com;\r\n       spf=pass (google.com: domain of a@b.example designates 192.0.2.1 as permitted sender) smtp.mailfrom="a@b.example"',
    );
    assert.deepEqual(r, { authservId: 'mx.google.com', spf: { result: 'pass', mailfrom: 'a@b.example' } });
  });
  test('no spf entry, and "none"', () => {
    assert.deepEqual(parseAuthResults('mx1.isp.example; dkim=pass'), { authservId: 'mx1.isp.example' });
    assert.deepEqual(parseAuthResults('mx1.isp.example; none'), { authservId: 'mx1.isp.example' });
    assert.equal(parseAuthResults('   '), undefined);
  });
  test('comments may nest and hold semicolons', () => {
    assert.equal(stripComments('a (b (c; d) e) f').replace(/\s+/g, ' '), 'a f');
    assert.equal(parseAuthResults('mx (x; y); spf=pass smtp.mailfrom=a@b.example')?.spf?.result, 'pass');
  });
});

describe('trustedSpf', () => {
  const headers = [
    'elsewhere.example; spf=pass smtp.mailfrom=a@sender.example',
    'MX1.isp.example; spf=fail smtp.mailfrom=a@sender.example',
    'mx1.isp.example; spf=pass smtp.mailfrom=a@sender.example',
  ];
  test('the topmost header with a trusted authserv-id wins; forged ones below are not read', () => {
    assert.deepEqual(trustedSpf(headers, ['mx1.isp.example']), {
      authservId: 'mx1.isp.example',
      result: 'fail',
      mailfrom: 'a@sender.example',
    });
  });
  test('untrusted ids, or no trusted ids at all, give nothing', () => {
    assert.equal(trustedSpf(headers, ['other.example']), undefined);
    assert.equal(trustedSpf(headers, []), undefined);
  });
  test('a trusted header without spf= gives nothing (we check ourselves)', () => {
    assert.equal(
      trustedSpf(['mx1.isp.example; dkim=pass', headers[2] ?? ''], ['mx1.isp.example']),
      undefined,
    );
  });
});
