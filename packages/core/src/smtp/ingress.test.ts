// Integration tests over real sockets: smarthold on 127.0.0.1 with a capture sink as next hop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { definePlugin } from '../plugin/api.js';
import { verdict } from '../plugin/verdict.js';
import { startTestSmarthold, type TestSmarthold } from '../testing/harness.js';
import { SmtpTestClient, dataBlock, queueIdOf } from '../testing/smtp-client.js';

const MSG =
  'From: a@example.org\r\nTo: b@example.net\r\nSubject: test\r\nMessage-ID: <1@example.org>\r\n\r\nHello.\r\n.leading dot line\r\n';

async function session(port: number): Promise<SmtpTestClient> {
  const c = await SmtpTestClient.connect(port);
  assert.equal((await c.read())?.code, 220);
  assert.equal((await c.command('EHLO client.example'))?.code, 250);
  return c;
}

describe('relaying and the bytes relayed', () => {
  let t: TestSmarthold;
  before(async () => {
    t = await startTestSmarthold();
  });
  after(() => t.stop());

  test('250 with the queue id; the sink gets the bytes sent plus one Received line', async () => {
    const r = await t.send('a@example.org', ['b@example.net'], MSG);
    assert.equal(r.code, 250);
    assert.match(r.text, /^250 2\.0\.0 Ok: queued as [0-9A-Z]{14}$/);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['delivered']);
    const got = t.sink?.messages.find((m) => m.raw.includes(`id ${id}`));
    assert.ok(got);
    const text = got.raw.toString('latin1');
    const received = /^Received: [^\r]*\r\n(\t[^\r]*\r\n)*/.exec(text)?.[0] ?? '';
    assert.match(received, new RegExp(`by smarthold\\.test \\(smarthold\\) with ESMTP id ${id}`));
    assert.equal(
      text.slice(received.length),
      MSG,
      'bytes after our Received line are exactly the bytes sent',
    );
    assert.equal(got.from, 'a@example.org');
    assert.deepEqual(got.to, ['b@example.net']);
  });

  test('the null sender is relayed as <>', async () => {
    const r = await t.send('', ['b@example.net'], MSG);
    assert.equal(r.code, 250);
    await t.waitForState(queueIdOf(r) ?? '', ['delivered']);
    const got = t.sink?.messages.find((m) => m.raw.includes(`id ${queueIdOf(r) ?? ''}`));
    assert.equal(got?.from, '');
  });

  test('address literals are refused (553), for senders and recipients', async () => {
    const c = await session(t.app.smtpPort);
    assert.match((await c.command('MAIL FROM:<u@[127.0.0.1]>'))?.text ?? '', /^553 5\.1\.7 /);
    assert.equal((await c.command('MAIL FROM:<a@example.org>'))?.code, 250);
    assert.match((await c.command('RCPT TO:<u@[127.0.0.1]>'))?.text ?? '', /^553 5\.1\.3 /);
    c.close();
  });

  test('non-ASCII addresses need SMTPUTF8', async () => {
    const c = await session(t.app.smtpPort);
    assert.match((await c.command('MAIL FROM:<jürgen@example.org>'))?.text ?? '', /^553 5\.6\.7 /);
    assert.equal((await c.command('MAIL FROM:<jürgen@example.org> SMTPUTF8'))?.code, 250);
    c.close();
  });

  test('bare LF is normalized to CRLF by default', async () => {
    const r = await t.send(
      'a@example.org',
      ['b@example.net'],
      Buffer.from('Subject: lf\r\n\r\nline one\nline two\r\n', 'latin1'),
    );
    assert.equal(r.code, 250);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['delivered']);
    const got = t.sink?.messages.find((m) => m.raw.includes(`id ${id}`));
    assert.ok(got?.raw.toString('latin1').endsWith('line one\r\nline two\r\n'));
  });

  test('more than 100 Received lines is a loop: 554 5.4.6, nothing queued', async () => {
    const loop =
      'Received: from x by y; Mon, 23 Nov 2026 07:00:00 +0000\r\n'.repeat(101) + 'Subject: loop\r\n\r\nx\r\n';
    const r = await t.send('a@example.org', ['b@example.net'], loop);
    assert.match(r.text, /^554 5\.4\.6 /);
  });

  test('pipelining desync: all RCPTs refused, then DATA and a body full of commands: nothing is queued', async () => {
    const before = (await t.app.store.counts()).active + (await t.app.store.counts()).delivered;
    const c = await session(t.app.smtpPort);
    // u@[...] is refused at RCPT; the body would queue a message if its lines ran as commands.
    c.write(
      'MAIL FROM:<a@example.org>\r\nRCPT TO:<u@[127.0.0.1]>\r\nDATA\r\n' +
        'MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n' +
        '.\r\n',
    );
    const replies = [];
    for (;;) {
      const r = await c.read(3000).catch(() => undefined);
      if (!r) break;
      replies.push(r.text);
    }
    assert.match(replies[0] ?? '', /^250/);
    assert.match(replies[1] ?? '', /^553/);
    assert.match(replies[2] ?? '', /^554 5\.5\.1 /);
    assert.equal(replies.length, 3, `no reply to smuggled commands: ${JSON.stringify(replies)}`);
    assert.ok(c.closed);
    const now = (await t.app.store.counts()).active + (await t.app.store.counts()).delivered;
    assert.equal(now, before);
    assert.ok(!t.sink?.attempts.includes('evil@example.org'));
  });
});

describe('limits and access', () => {
  let t: TestSmarthold;
  before(async () => {
    t = await startTestSmarthold({
      config: {
        smtp: {
          relay_networks: ['192.0.2.0/24'],
          max_message_size: 2000,
          bare_newlines: 'reject',
          max_recipients: 2,
        },
      },
    });
  });
  after(() => t.stop());

  test('a client outside the relay networks gets 554 5.7.1 at RCPT', async () => {
    const c = await session(t.app.smtpPort);
    assert.equal((await c.command('MAIL FROM:<a@example.org>'))?.code, 250);
    assert.match(
      (await c.command('RCPT TO:<b@example.net>'))?.text ?? '',
      /^554 5\.7\.1 .*Relay access denied/,
    );
    c.close();
  });
});

describe('limits for a trusted client', () => {
  let t: TestSmarthold;
  before(async () => {
    t = await startTestSmarthold({
      config: { smtp: { max_message_size: 2000, bare_newlines: 'reject', max_recipients: 2 } },
    });
  });
  after(() => t.stop());

  test('SIZE is advertised and an over-size message gets 552 5.3.4', async () => {
    const c = await SmtpTestClient.connect(t.app.smtpPort);
    await c.read();
    assert.match((await c.command('EHLO x.example'))?.text ?? '', /SIZE 2000/);
    c.close();
    const r = await t.send(
      'a@example.org',
      ['b@example.net'],
      'Subject: big\r\n\r\n' + 'x'.repeat(3000) + '\r\n',
    );
    assert.match(r.text, /^552 5\.3\.4 /);
    assert.equal((await t.app.store.list(['active', 'deferred', 'delivered'])).length, 0);
  });

  test('bare LF is rejected with 550 5.5.2 under bare_newlines = "reject"', async () => {
    const r = await t.send(
      'a@example.org',
      ['b@example.net'],
      Buffer.from('Subject: lf\r\n\r\na\nb\r\n', 'latin1'),
    );
    assert.match(r.text, /^550 5\.5\.2 /);
  });

  test('recipients beyond max_recipients get 452 4.5.3', async () => {
    const c = await session(t.app.smtpPort);
    await c.command('MAIL FROM:<a@example.org>');
    assert.equal((await c.command('RCPT TO:<1@example.net>'))?.code, 250);
    assert.equal((await c.command('RCPT TO:<2@example.net>'))?.code, 250);
    assert.match((await c.command('RCPT TO:<3@example.net>'))?.text ?? '', /^452 4\.5\.3 /);
    c.close();
  });
});

describe('hooks that fail', () => {
  let t: TestSmarthold;
  const thrower = definePlugin({
    name: 'thrower',
    version: '1.0.0',
    core: '^1',
    setup(ctx) {
      ctx.hook('data', async (tx) => {
        if (tx.headers.first('subject') === 'throw') throw new Error('boom');
        if (tx.headers.first('subject') === 'hang') await new Promise(() => undefined);
        return verdict.next();
      });
    },
  });
  before(async () => {
    t = await startTestSmarthold({
      plugins: [thrower],
      config: { plugins: ['thrower'], smtp: { hook_timeout: '300ms' } },
    });
  });
  after(() => t.stop());

  test('a hook that throws gives 451 and nothing is queued', async () => {
    const r = await t.send('a@example.org', ['b@example.net'], 'Subject: throw\r\n\r\nx\r\n');
    assert.match(r.text, /^451 4\.3\.0 /);
    assert.equal((await t.app.store.list(['active', 'deferred', 'delivered', 'hold'])).length, 0);
  });

  test('a hook that hangs gives 451 within the deadline and nothing is queued', async () => {
    const started = Date.now();
    const r = await t.send('a@example.org', ['b@example.net'], 'Subject: hang\r\n\r\nx\r\n');
    const took = Date.now() - started;
    assert.match(r.text, /^451 4\.4\.5 /);
    assert.ok(took < 3000, `took ${took} ms`);
    assert.equal((await t.app.store.list(['active', 'deferred', 'delivered', 'hold'])).length, 0);
  });

  test('a normal message still passes and the trace shows the hook', async () => {
    const r = await t.send('a@example.org', ['b@example.net'], 'Subject: fine\r\n\r\nx\r\n');
    assert.equal(r.code, 250);
    const m = await t.app.store.get(queueIdOf(r) ?? '');
    assert.ok(m?.trace.some((e) => e.plugin === 'thrower' && e.hook === 'data' && e.verdict === 'continue'));
  });
});

describe('data written before the reply', () => {
  test('dataBlock dot-stuffs', () => {
    assert.equal(dataBlock('a\r\n.b\r\n').toString(), 'a\r\n..b\r\n.\r\n');
  });
});
