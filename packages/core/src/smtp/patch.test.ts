import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { PATCHED_VERSION, installedVersion, patchSmtpServer } from './patch.js';

test('the smtp-server overrides are pinned to the installed library version', () => {
  // If this fails after an upgrade, re-read smtp-server's init/handler_DATA/send and update smtp/patch.ts.
  assert.equal(installedVersion(), PATCHED_VERSION);
  const proto = SMTPConnection.prototype as unknown as Record<string, unknown>;
  for (const name of ['init', 'handler_DATA', 'send', 'connectionReady', '_setListeners']) {
    assert.equal(typeof proto[name], 'function', `SMTPConnection.prototype.${name} is gone`);
  }
  const before = proto['init'];
  patchSmtpServer();
  assert.notEqual(proto['init'], before);
  assert.match(
    String(before),
    /setTimeout\(\(\) => this\.connectionReady\(\), 100\)/,
    'the library changed its greeting pause',
  );
});
