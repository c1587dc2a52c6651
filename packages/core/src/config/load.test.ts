import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isSmartholdError } from '../errors.js';
import { loadConfig } from './load.js';

function dirWith(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sh-cfg-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, name)), { recursive: true });
    writeFileSync(path.join(d, name), text);
  }
  return d;
}

test('no file: built-in defaults (SMTP 127.0.0.1:2525, HTTP 127.0.0.1:8025, ./var)', () => {
  const { config, files } = loadConfig(undefined);
  assert.deepEqual(files, []);
  assert.deepEqual(config.smtp.listen, [{ host: '127.0.0.1', port: 2525 }]);
  assert.deepEqual(config.http.listen, { host: '127.0.0.1', port: 8025 });
  assert.equal(config.store.dir, path.resolve('var'));
  assert.equal(config.smtp.hook_timeout, 30_000);
});

test('conf.d drop-ins merge over the main file in name order', () => {
  const d = dirWith({
    'smarthold.toml': '[smtp]\nmax_recipients = 10\nhook_timeout = "5s"\n',
    'conf.d/10-a.toml': '[smtp]\nmax_recipients = 20\n',
    'conf.d/20-b.toml': '[smtp]\nmax_recipients = 30\n',
  });
  const { config, files } = loadConfig(path.join(d, 'smarthold.toml'));
  assert.equal(config.smtp.max_recipients, 30);
  assert.equal(config.smtp.hook_timeout, 5000);
  assert.equal(files.length, 3);
  assert.equal(config.store.dir, path.join(d, 'var'), 'relative to the config file');
});

test('an error names the file, the key and what is allowed', () => {
  const d = dirWith({ 'smarthold.toml': '', 'conf.d/50-x.toml': '[smtp]\nbare_newlines = "fix"\n' });
  assert.throws(
    () => loadConfig(path.join(d, 'smarthold.toml')),
    (err: unknown) => {
      assert.ok(isSmartholdError(err, 'SMARTHOLD_CONFIG_INVALID'));
      assert.match(err.message, /50-x\.toml: smtp\.bare_newlines: .*allowed: "normalize", "reject"/);
      return true;
    },
  );
});

test('unknown keys and bad durations are errors, not ignored', () => {
  const d = dirWith({
    'smarthold.toml': '[smtp]\nlisten_on = ["x"]\n',
    'b.toml': '[smtp]\nhook_timeout = "soon"\n',
  });
  assert.throws(
    () => loadConfig(path.join(d, 'smarthold.toml')),
    /smarthold\.toml: smtp: unknown key\(s\) "listen_on"/,
  );
  assert.throws(
    () => loadConfig(path.join(d, 'b.toml')),
    /b\.toml: smtp\.hook_timeout: "soon" is not a duration/,
  );
});

test('TOML syntax errors name the file', () => {
  const d = dirWith({ 'smarthold.toml': '[smtp\n' });
  assert.throws(
    () => loadConfig(path.join(d, 'smarthold.toml')),
    (err: unknown) =>
      isSmartholdError(err, 'SMARTHOLD_CONFIG_READ') && err.message.includes('smarthold.toml'),
  );
});
