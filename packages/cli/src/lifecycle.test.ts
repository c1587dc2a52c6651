// Crash safety and signals, with the real command: SIGKILL at several points, SIGHUP reload.
import assert from 'node:assert/strict';
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  SmtpTestClient,
  dataBlock,
  queueIdOf,
  sendMail,
  startCaptureSink,
  withDeadline,
} from '@smarthold/core';
import {
  cleanup,
  cli,
  config,
  freePort,
  spoolFile,
  startProcess,
  tmp,
  type Running,
} from './test-process.js';

after(cleanup);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The queue as `smarthold queue list --json` prints it. */
function queued(file: string, dir: string): unknown[] {
  const r = cli(['queue', 'list', '--json', '-c', file], dir);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
}

/** The SMTP port of the newest instance in a process's log (a reload starts a new one). */
async function latestPort(p: Running, count: number, timeoutMs = 15_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const started = p.log.filter((l) => l.includes('"smarthold started"'));
    if (started.length >= count)
      return (
        (JSON.parse(started[started.length - 1] ?? '{}') as { smtp: { port: number }[] }).smtp[0]?.port ?? 0
      );
    if (Date.now() > end) throw new Error(`no restart in the log:\n${p.log.join('\n')}`);
    await sleep(50);
  }
}

describe('crash safety', () => {
  test('SIGKILL during DATA leaves nothing half-accepted', async () => {
    const dir = tmp();
    const sink = await startCaptureSink();
    const file = config(dir, sink.port);
    const first = await startProcess(file);
    const c = await SmtpTestClient.connect(first.smtpPort);
    await c.read();
    await c.command('EHLO crash.example');
    await c.command('MAIL FROM:<a@example.org>');
    await c.command('RCPT TO:<b@example.net>');
    assert.equal((await c.command('DATA'))?.code, 354);
    c.write('Subject: half\r\n\r\n' + 'x'.repeat(100_000) + '\r\n');
    await sleep(200);
    await first.stop('SIGKILL');
    c.close();
    const second = await startProcess(file);
    try {
      await sleep(700);
      assert.equal(sink.messages.length, 0);
      assert.deepEqual(queued(file, dir), []);
      assert.deepEqual(readdirSync(path.join(dir, 'var', 'spool', 'tmp')), []);
    } finally {
      await second.stop();
      await sink.close();
    }
  });

  test('SIGKILL mid-delivery: delivered after restart (at least once)', async () => {
    const dir = tmp();
    const port = await freePort();
    let sawData!: () => void;
    const dataArrived = new Promise<void>((r) => (sawData = r));
    const slow = await startCaptureSink(port, {
      data: () => {
        sawData();
        return undefined;
      },
      dataDelayMs: 60_000,
    });
    const file = config(dir, port);
    const first = await startProcess(file);
    try {
      const r = await sendMail(
        first.smtpPort,
        'a@example.org',
        ['b@example.net'],
        'Subject: in flight\r\n\r\nx\r\n',
      );
      assert.equal(r.code, 250);
      await withDeadline(dataArrived, 15_000).catch((err: unknown) => {
        throw new Error(`no delivery attempt within 15 s:\n${first.log.join('\n')}`, { cause: err });
      });
    } finally {
      await first.stop('SIGKILL');
      await slow.close().catch(() => undefined);
    }
    const sink = await startCaptureSink(port);
    const second = await startProcess(file);
    try {
      const [m] = await sink.waitFor(1, 15_000);
      assert.match(m?.raw.toString() ?? '', /Subject: in flight/);
    } finally {
      await second.stop();
      await sink.close();
    }
  });

  test('a message that got a non-2xx reply is never delivered, across a crash', async () => {
    const dir = tmp();
    const sink = await startCaptureSink();
    const file = config(dir, sink.port);
    writeFileSync(
      file,
      `[smtp]\nbare_newlines = "reject"\n` +
        (await import('node:fs')).readFileSync(file, 'utf8').replace('[smtp]\n', ''),
    );
    const first = await startProcess(file);
    const bad = await sendMail(
      first.smtpPort,
      'a@example.org',
      ['b@example.net'],
      Buffer.from('Subject: bad\r\n\r\nbare\nlf\r\n', 'latin1'),
    );
    assert.equal(bad.code, 550);
    const good = await sendMail(
      first.smtpPort,
      'a@example.org',
      ['b@example.net'],
      'Subject: good\r\n\r\nfine\r\n',
    );
    assert.equal(good.code, 250);
    await first.stop('SIGKILL');
    const second = await startProcess(file);
    try {
      await sink.waitFor(1, 10_000);
      await sleep(700);
      assert.ok(sink.messages.every((m) => !m.raw.toString().includes('Subject: bad')));
      assert.ok(sink.messages.some((m) => m.raw.toString().includes('Subject: good')));
    } finally {
      await second.stop();
      await sink.close();
    }
  });
});

describe('damaged spool entries', () => {
  test('a truncated body found at start-up is moved aside, never delivered, and the sender is told', async () => {
    const dir = tmp();
    const port = await freePort();
    const file = config(dir, port);
    const first = await startProcess(file);
    const r = await sendMail(
      first.smtpPort,
      'a@example.org',
      ['b@example.net'],
      // Larger than [store] inline_max_size: a spool file, not a body stored with its records.
      'Subject: damaged\r\n\r\n' + ('y'.repeat(76) + '\r\n').repeat(4000),
    );
    assert.equal(r.code, 250);
    await first.stop();
    const id = queueIdOf(r) ?? '';
    const body = spoolFile(dir, id);
    truncateSync(body, 100);
    const sink = await startCaptureSink(port);
    const second = await startProcess(file);
    try {
      const [dsn] = await sink.waitFor(1, 10_000);
      assert.equal(dsn?.from, '', 'the report comes from <>');
      assert.deepEqual(dsn?.to, ['a@example.org']);
      assert.match(dsn?.raw.toString() ?? '', /Action: failed/);
      await sleep(500);
      assert.equal(sink.messages.length, 1, 'the damaged message itself is never delivered');
      assert.deepEqual(readdirSync(path.join(dir, 'var', 'spool', 'corrupt')), [id]);
      assert.ok(second.log.some((l) => l.includes(id) && l.includes('damaged spool entry moved aside')));
    } finally {
      await second.stop();
      await sink.close();
    }
  });
});

describe('signals', () => {
  test('SIGHUP: a bad configuration is refused and logged, a good one is applied', async () => {
    const dir = tmp();
    const sink = await startCaptureSink();
    const file = config(dir, sink.port);
    const good = (await import('node:fs')).readFileSync(file, 'utf8');
    const p = await startProcess(file);
    try {
      writeFileSync(file, good.replace('[smtp]\n', '[smtp]\nmax_recipients = "one"\n'));
      p.child.kill('SIGHUP');
      const end = Date.now() + 10_000;
      while (!p.log.some((l) => l.includes('new configuration is invalid')) && Date.now() < end)
        await sleep(50);
      assert.ok(
        p.log.some((l) => l.includes('new configuration is invalid') && l.includes('max_recipients')),
        p.log.join('\n'),
      );
      assert.equal(
        (await sendMail(p.smtpPort, 'a@example.org', ['b@example.net'], 'Subject: still\r\n\r\nx\r\n')).code,
        250,
        'still serving',
      );

      writeFileSync(file, good.replace('[smtp]\n', '[smtp]\nmax_recipients = 1\n'));
      p.child.kill('SIGHUP');
      const port = await latestPort(p, 2);
      const c = await SmtpTestClient.connect(port);
      await c.read();
      await c.command('EHLO hup.example');
      await c.command('MAIL FROM:<a@example.org>');
      assert.equal((await c.command('RCPT TO:<1@example.net>'))?.code, 250);
      assert.match(
        (await c.command('RCPT TO:<2@example.net>'))?.text ?? '',
        /^452 4\.5\.3 /,
        'the new limit applies',
      );
      c.write('DATA\r\n');
      await c.read();
      c.write(dataBlock('Subject: x\r\n\r\nx\r\n'));
      assert.equal((await c.read())?.code, 250);
      c.close();
      assert.ok(p.log.some((l) => l.includes('configuration reloaded')));
    } finally {
      assert.equal(await p.stop(), 0);
      await sink.close();
    }
  });
});
