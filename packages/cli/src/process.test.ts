// The smarthold command as a user runs it: a real process, real sockets, signals.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { SmtpTestClient, needService, queueIdOf, sendMail, startCaptureSink } from '@smarthold/core';
import { cleanup, cli, config, freePort, startProcess, tmp } from './test-process.js';

after(cleanup);

describe('smarthold as a process', () => {
  test('SIGKILL right after the 250, restart: the message is delivered', async () => {
    const dir = tmp();
    const sinkPort = await freePort();
    const file = config(dir, sinkPort);
    const first = await startProcess(file);
    const r = await sendMail(
      first.smtpPort,
      'a@example.org',
      ['b@example.net'],
      'Subject: durable\r\n\r\nkeep me\r\n',
    );
    assert.equal(r.code, 250);
    first.child.kill('SIGKILL');
    await new Promise((res) => first.child.once('exit', res));
    const sink = await startCaptureSink(sinkPort);
    const second = await startProcess(file);
    try {
      const [m] = await sink.waitFor(1, 15_000);
      assert.ok(m?.raw.toString().endsWith('Subject: durable\r\n\r\nkeep me\r\n'));
      assert.ok(m?.raw.toString().includes(`id ${queueIdOf(r) ?? '?'}`));
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((res) => second.child.once('exit', res));
      await sink.close();
    }
  });

  test('SIGTERM exits 0; explain lists each hook call for a delivered message', async () => {
    const dir = tmp();
    const sink = await startCaptureSink();
    const plugin = path.join(dir, 'tag.mjs');
    writeFileSync(
      plugin,
      `export default { name: 'tag', version: '1.0.0', core: '^1', setup(ctx) {\n` +
        `  ctx.hook('rcpt', async () => ({ kind: 'continue' }));\n` +
        `  ctx.hook('data', async (tx) => { tx.results.set('seen', true); return { kind: 'continue' }; });\n} };\n`,
    );
    const file = config(dir, sink.port);
    writeFileSync(file, `plugins = ["./tag.mjs"]\n` + readFileSync(file, 'utf8'));
    const p = await startProcess(file);
    try {
      const r = await sendMail(
        p.smtpPort,
        'a@example.org',
        ['b@example.net'],
        'Subject: explain\r\n\r\nx\r\n',
      );
      await sink.waitFor(1);
      await new Promise((res) => setTimeout(res, 300));
      const id = queueIdOf(r) ?? '';
      const out = cli(['explain', id, '-c', file], dir);
      assert.equal(out.status, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`queue_id:\\s+${id}`));
      assert.match(out.stdout, /tag\/rcpt\s+continue\s+[\d.]+ ms\s+rcpt=<b@example\.net>/);
      assert.match(out.stdout, /tag\/data\s+continue\s+[\d.]+ ms/);
      assert.match(out.stdout, /<b@example\.net>\s+delivered/);
      assert.equal(
        p.log.filter((l) => l.includes(id) && l.includes('"status":"delivered"')).length,
        1,
        'log line carries queue_id and status',
      );
    } finally {
      p.child.kill('SIGTERM');
      const code = await new Promise((res) => p.child.once('exit', res));
      assert.equal(code, 0);
      await sink.close();
    }
  });

  test('a 50 MB message relays with the process under 200 MB RSS', async () => {
    const dir = tmp();
    const sink = await startCaptureSink();
    let received = 0;
    sink.script = { data: (m) => ((received = m.raw.length), undefined) };
    const file = config(dir, sink.port);
    const p = await startProcess(file);
    try {
      const c = await SmtpTestClient.connect(p.smtpPort);
      await c.read();
      await c.command('EHLO big.example');
      await c.command('MAIL FROM:<a@example.org> SIZE=50000000');
      await c.command('RCPT TO:<b@example.net>');
      assert.equal((await c.command('DATA'))?.code, 354);
      const line = 'x'.repeat(998) + '\r\n';
      c.write('Subject: big\r\n\r\n');
      const lines = Math.ceil(50_000_000 / line.length);
      const chunk = line.repeat(256);
      for (let i = 0; i < lines; i += 256) {
        c.write(chunk);
        if (i % 8192 === 0) await new Promise((res) => setImmediate(res));
      }
      c.write('.\r\n');
      const r = await c.read(120_000);
      assert.equal(r?.code, 250, r?.text);
      c.close();
      await sink.waitFor(1, 120_000);
      assert.ok(received > 50_000_000);
      const status = readFileSync(`/proc/${String(p.child.pid)}/status`, 'utf8');
      const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
      assert.ok(hwmKb > 0 && hwmKb < 200 * 1024, `peak RSS ${hwmKb} kB`);
    } finally {
      p.child.kill('SIGTERM');
      await new Promise((res) => p.child.once('exit', res));
      await sink.close();
    }
  });

  test("with Postfix's smtp-sink as next hop the message arrives with one Received line added", async (t) => {
    const skip = await needService('smtp-sink', () => Promise.resolve(existsSync('/usr/sbin/smtp-sink')));
    if (skip) {
      t.skip(skip);
      return;
    }
    const dir = tmp();
    const dump = path.join(dir, 'dump');
    // smtp-sink drops privileges to nobody: it must be able to reach and write the dump directory.
    chmodSync(dir, 0o755);
    spawnSync('mkdir', ['-m', '777', dump]);
    const port = await freePort();
    const sinkProc = spawn(
      '/usr/sbin/smtp-sink',
      ['-u', 'nobody', '-d', `${dump}/%M.`, `127.0.0.1:${port}`, '10'],
      { stdio: 'ignore' },
    );
    await new Promise((res) => setTimeout(res, 300));
    const p = await startProcess(config(dir, port));
    try {
      const body = 'From: a@example.org\r\nSubject: sink\r\n\r\nhello sink\r\n';
      const r = await sendMail(p.smtpPort, 'a@example.org', ['b@example.net'], body);
      assert.equal(r.code, 250);
      const end = Date.now() + 10_000;
      let files: string[] = [];
      while (Date.now() < end && !files.length) {
        await new Promise((res) => setTimeout(res, 100));
        files = spawnSync('ls', [dump], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      }
      assert.equal(files.length, 1);
      // smtp-sink writes its own X-* and Received lines first and stores LF line ends.
      const text = readFileSync(path.join(dump, files[0] ?? ''), 'latin1');
      const ours = text.indexOf('Received: from test.example');
      assert.ok(ours > 0, text);
      const after = text.slice(ours).replace(/^Received: [^\n]*\n(\t[^\n]*\n)*/, '');
      assert.equal(after.replace(/\n+$/, '\n'), body.replace(/\r\n/g, '\n'));
    } finally {
      p.child.kill('SIGTERM');
      await new Promise((res) => p.child.once('exit', res));
      sinkProc.kill();
    }
  });
});

describe('configuration commands', () => {
  test('init writes a commented config that config check accepts; show --non-default names only the starter filter list', () => {
    const dir = tmp();
    const r = cli(['init', dir], dir);
    assert.equal(r.status, 0, r.stderr);
    const text = readFileSync(path.join(dir, 'smarthold.toml'), 'utf8');
    assert.match(text, /# listen = \[ "127\.0\.0\.1:2525" \]/);
    assert.equal(cli(['init', dir], dir).status, 73, 'never overwrites');
    const check = cli(['config', 'check', '-c', path.join(dir, 'smarthold.toml')], dir);
    assert.equal(check.status, 0, check.stderr);
    assert.match(
      text,
      /^# plugins = \[ "sender-auth", "bayes", "quarantine" \]$/m,
      'the default plugins, shown',
    );
    assert.match(
      check.stdout,
      /plugins \(in run order\): sender-auth@[\d.]+, bayes@[\d.]+, quarantine@[\d.]+/,
    );
    // The starter list of strict receivers is written out, ready to edit; everything else is at its default.
    const shown = cli(
      ['config', 'show', '--non-default', '-c', path.join(dir, 'smarthold.toml')],
      dir,
    ).stdout;
    assert.equal(
      shown
        .replace(/"[a-z.]+"/g, '"d"')
        .replace(/(, "d")+/g, '')
        .trim(),
      '[plugin.sender-auth]\nfilter_domains = [ "d" ]',
    );
  });

  test('a config error exits 78 and names file and key', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'smarthold.toml'), '[smtp]\nbare_newlines = "fix"\n');
    const r = cli(['config', 'check', '-c', path.join(dir, 'smarthold.toml')], dir);
    assert.equal(r.status, 78);
    assert.match(r.stderr, /smarthold\.toml: smtp\.bare_newlines: .*allowed: "normalize", "reject"/);
  });
});
