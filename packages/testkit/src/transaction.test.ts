// runTransaction and createTestHost: every stage, through core's PluginHost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin, verdict } from '@smarthold/core';
import { z } from 'zod';
import { fakeClock } from './clock.js';
import { createTestHost } from './host.js';
import { runTransaction } from './transaction.js';

const MESSAGE = 'From: a@example.org\r\nSubject: hello\r\n  world\r\n\r\nbody\r\n';

const policy = definePlugin({
  name: 'policy',
  version: '1.0.0',
  core: '^1',
  config: z.strictObject({
    blocked: z.string().default('blocked.example'),
    hold_subject: z.string().default('hold me'),
  }),
  setup(ctx) {
    ctx.hook('connect', (s) =>
      Promise.resolve(s.remoteAddress === '198.51.100.1' ? verdict.reject('go away') : verdict.next()),
    );
    ctx.hook('helo', (_s, helo) =>
      Promise.resolve(helo === 'bad.example' ? verdict.tempfail('later') : verdict.next()),
    );
    ctx.hook('mail', (tx) => {
      tx.results.set('from', tx.from);
      return Promise.resolve(verdict.next());
    });
    ctx.hook('rcpt', (tx, rcpt) => {
      tx.results.set('seen', tx.to.length, { recipient: rcpt });
      return Promise.resolve(
        rcpt.endsWith(`@${ctx.config.blocked}`)
          ? verdict.reject('no such user', { code: 550, enhanced: '5.1.1' })
          : verdict.next(),
      );
    });
    ctx.hook('data', async (tx) => {
      tx.results.set('subject', tx.headers.first('subject') ?? null);
      tx.results.set('size', tx.size);
      let n = 0;
      for await (const c of tx.openMessage()) n += (c as Buffer).length;
      tx.results.set('read', n);
      if (tx.headers.first('subject') === ctx.config.hold_subject) return verdict.hold('subject');
      return verdict.next();
    });
    ctx.hook('queue', async (tx) => {
      await ctx.submit({
        from: '',
        to: ['postmaster@example.org'],
        raw: `Subject: saw ${tx.queueId}\r\n\r\n.\r\n`,
      });
      return verdict.recipients(
        Object.fromEntries(
          tx.to
            .filter((r) => r.startsWith('drop'))
            .map((r) => [r, { kind: 'discard', reason: 'x' } as const]),
        ),
      );
    });
  },
});

test('every stage runs in order; replies, outcomes, results and trace are reported', async () => {
  const r = await runTransaction([policy], {
    from: 'a@example.org',
    to: ['b@example.net', 'x@blocked.example', 'drop@example.net'],
    message: MESSAGE,
  });
  assert.equal(r.replies.connect?.code, 220);
  assert.equal(r.replies.mail?.code, 250);
  assert.equal(r.replies.rcpt['x@blocked.example']?.text, '550 5.1.1 no such user');
  assert.equal(r.replies.data?.text, `250 2.0.0 Ok: queued as ${r.queueId}`);
  assert.equal(r.accepted, true);
  assert.deepEqual(r.outcomes['b@example.net'], { kind: 'deliver' });
  assert.deepEqual(r.outcomes['drop@example.net'], { kind: 'discard', reason: 'x' });
  assert.equal(r.outcomes['x@blocked.example']?.kind, 'refused');
  // Header values are unfolded (RFC 5322 §2.2.3); the size includes our Received line.
  assert.ok(r.results.some((x) => x.key === 'subject' && x.value === 'hello world'));
  assert.ok(r.message?.toString().startsWith('Received: from client.example'));
  assert.ok(r.results.some((x) => x.key === 'size' && x.value === r.message?.length));
  assert.ok(r.results.some((x) => x.key === 'read' && x.value === r.message?.length));
  // The second accepted recipient saw one recipient before it.
  assert.ok(r.results.some((x) => x.key === 'seen' && x.recipient === 'drop@example.net' && x.value === 1));
  assert.deepEqual(
    r.trace.map((t) => `${t.hook}${t.recipient ? ':' + t.recipient : ''}=${t.verdict}`),
    [
      'helo=continue',
      'mail=continue',
      'rcpt:b@example.net=continue',
      'rcpt:x@blocked.example=reject 550 5.1.1',
      'rcpt:drop@example.net=continue',
      'data=continue',
      'queue=recipients(drop@example.net=discard)',
    ],
  );
  assert.equal(r.submitted.length, 1);
  assert.equal(r.submitted[0]?.plugin, 'policy');
  assert.match(String(r.submitted[0]?.raw), new RegExp(r.queueId));
});

test('config comes from the plugin schema; hold at data holds every recipient', async () => {
  const r = await runTransaction([policy], {
    from: 'a@example.org',
    to: ['b@example.net'],
    message: 'Subject: custom\r\n\r\nx\r\n',
    config: { plugin: { policy: { hold_subject: 'custom' } }, smtp: { received_header: false } },
  });
  assert.deepEqual(r.outcomes, { 'b@example.net': { kind: 'hold', reason: 'subject' } });
  assert.equal(r.message?.toString(), 'Subject: custom\r\n\r\nx\r\n');
  await assert.rejects(
    runTransaction([policy], {
      from: '',
      to: ['b@example.net'],
      message: MESSAGE,
      config: { plugin: { policy: { nope: 1 } } },
    }),
    /plugin "policy": invalid configuration/,
  );
});

test('a refusal at connect or helo ends the transaction; relay access is checked', async () => {
  const c = await runTransaction([policy], {
    from: 'a@example.org',
    to: ['b@example.net'],
    message: MESSAGE,
    session: { remoteAddress: '198.51.100.1' },
  });
  assert.equal(c.replies.connect?.text, '554 5.7.1 go away');
  assert.equal(c.replies.mail, undefined);
  assert.deepEqual(c.outcomes, { 'b@example.net': { kind: 'not-reached' } });
  const h = await runTransaction([policy], {
    from: 'a@example.org',
    to: ['b@example.net'],
    message: MESSAGE,
    session: { helo: 'bad.example' },
  });
  assert.equal(h.replies.helo?.text, '451 4.3.0 later');
  assert.equal(h.verdicts.mail, undefined);
  const u = await runTransaction([policy], {
    from: 'a@example.org',
    to: ['b@example.net'],
    message: MESSAGE,
    session: { trustedNetwork: false },
  });
  assert.equal(u.replies.rcpt['b@example.net']?.code, 554);
  assert.equal(u.replies.data?.text, '503 5.5.1 No valid recipients');
  assert.equal(u.accepted, false);
});

test('a hook that throws fails closed with 451, as in ingress', async () => {
  const broken = definePlugin({
    name: 'broken',
    version: '1.0.0',
    core: '^1',
    setup(ctx) {
      ctx.hook('data', () => Promise.reject(new Error('boom')));
    },
  });
  const r = await runTransaction([broken], {
    from: 'a@example.org',
    to: ['b@example.net'],
    message: MESSAGE,
  });
  assert.equal(r.replies.data?.code, 451);
  assert.equal(r.accepted, false);
  assert.deepEqual(r.outcomes['b@example.net']?.kind, 'tempfailed');
  assert.equal(r.trace[0]?.error, 'boom');
});

test('createTestHost: plugin tables, jobs and the clock persist across transactions', async () => {
  const clock = fakeClock();
  const counter = definePlugin({
    name: 'counter',
    version: '1.0.0',
    core: '^1',
    async setup(ctx) {
      await ctx.data.migrate({
        '001_init': {
          up: (db) =>
            db.schema
              .createTable('counter_seen')
              .addColumn('sender', 'text')
              .addColumn('at', 'integer')
              .execute(),
        },
      });
      ctx.job('purge', { everyMs: 60_000 }, async () => {
        await ctx.data.db.deleteFrom('counter_seen').execute();
      });
      ctx.hook('mail', async (tx) => {
        await ctx.data.db
          .insertInto('counter_seen')
          .values({ sender: tx.from, at: ctx.clock.now() })
          .execute();
        const rows = (await ctx.data.db
          .selectFrom('counter_seen')
          .selectAll()
          .where('sender', '=', tx.from)
          .execute()) as unknown[];
        tx.results.set('count', rows.length);
        return rows.length > 2 ? verdict.tempfail('slow down') : verdict.next();
      });
    },
  });
  const t = await createTestHost([counter], { clock });
  try {
    const send = () => runTransaction(t, { from: 'a@example.org', to: ['b@example.net'], message: MESSAGE });
    assert.equal((await send()).replies.mail?.code, 250);
    await send();
    const third = await send();
    assert.equal(third.replies.mail?.text, '451 4.3.0 slow down');
    assert.equal(third.trace[0]?.at, clock.now());
    assert.deepEqual(
      t.jobs.map((j) => `${j.plugin}/${j.name}@${j.everyMs}`),
      ['counter/purge@60000'],
    );
    await t.runJob('purge');
    assert.equal((await send()).replies.mail?.code, 250);
    await assert.rejects(t.runJob('nope'), /no job "nope"; registered: counter\/purge/);
  } finally {
    await t.close();
  }
});
