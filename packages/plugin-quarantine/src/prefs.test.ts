/**
 * prefs.test.ts — preferences and heuristics end to end (acceptance 3 and 5).
 *
 * Over real SMTP with the rig of test-setup.ts, on SQLite, PostgreSQL and MySQL:
 * recipient drop and redirect (with confirmation, chains, loops, a filtered
 * target refused), sender discard (every Nth kept) and bounce, popular and
 * special recipients, never bouncing to <>, free passes for bounces quoting
 * our link, identical bodies stored once, and a release delivering the held
 * copy byte-identical, once.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { queueIdOf } from '@smarthold/core';
import {
  assertIdentical,
  decodeQp,
  DIALECTS,
  EXTERNAL_SENDER,
  message,
  notices,
  OUR_SENDER,
  type QuarantineRig,
  releaseUrl,
  settle,
  skipFor,
  startRig,
  withoutOurReceived,
} from './test-setup.js';

const operator = { kind: 'operator', person: true } as const;

/** The queue id named by a reject's release URL. */
async function heldId(rig: QuarantineRig, text: string): Promise<string> {
  const token = /\/q\/m\/([A-Za-z0-9_-]{22})/.exec(text)?.[1] ?? '';
  const t = await rig.service.check(token, 'message');
  assert.ok(t);
  return t.subject;
}

for (const dialect of DIALECTS) {
  describe(`preferences and heuristics (${dialect})`, () => {
    let rig: QuarantineRig | undefined;
    let skip: false | string = false;
    before(async () => {
      skip = await skipFor(dialect);
      if (!skip) {
        rig = await startRig(dialect, {
          quarantine: { keep_every: 3, popular_threshold: 2, special_recipients: ['special@example.org'] },
        });
      }
    });
    after(async () => {
      await rig?.stop();
    });
    const r = (): QuarantineRig => rig ?? assert.fail('no rig');

    test('release delivers the held copy to the original recipients byte-identical, once', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const raw = message({ spam: true, subject: 'release me' });
      const reply = await r().send(OUR_SENDER, ['rel1@aol.com', 'rel2@example.org'], raw);
      assert.equal(reply.code, 552);
      const id = await heldId(r(), releaseUrl(reply));
      // Letters about the hold (queued with it) go out first, so that what follows is the release.
      const n0 = (await settle(r())).length;
      assert.equal(await r().service.release(id, operator), 2);
      const got = (await r().waitSunk(n0 + 1)).slice(n0);
      assert.deepEqual(got.flatMap((m) => m.to).sort(), ['rel1@aol.com', 'rel2@example.org']);
      for (const m of got) assertIdentical(m, raw);
      assert.equal(await r().service.release(id, operator), 0, 'a second release does nothing');
      assert.equal((await settle(r())).length, n0 + got.length);
      assert.equal((await r().service.get(id))?.state, 'released');
    });

    test('recipient drop: spammy mail for them is discarded, clean mail still passes', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      await r().service.setRecipientPrefs('drop@aol.com', { action: 'drop' });
      const spam = await r().send(EXTERNAL_SENDER, ['drop@aol.com'], message({ spam: true, external: true }));
      assert.equal(spam.code, 250);
      const q = await r().t.app.store.get(queueIdOf(spam) ?? '');
      assert.equal(q?.recipients[0]?.state, 'discarded');
      const n0 = r().sunk().length;
      const clean = await r().send(EXTERNAL_SENDER, ['drop@aol.com'], message({ external: true }));
      assert.equal(clean.code, 250);
      await r().waitSunk(n0 + 1);
    });

    test('redirect: refused to a filtered domain; nothing goes to the new address before it confirms; then held and new spam go there', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const s = r().service;
      await assert.rejects(
        s.setRecipientPrefs('red@aol.com', { action: 'redirect', to: 'red@gmail.com' }),
        /blacklisting policy/,
      );
      const first = message({ spam: true, external: true, subject: 'held before redirect' });
      assert.equal((await r().send(EXTERNAL_SENDER, ['red@aol.com'], first)).code, 250);
      const n0 = r().sunk().length;
      const res = await s.setRecipientPrefs('red@aol.com', { action: 'redirect', to: 'red@example.org' });
      assert.equal(res.confirmationSent, 'red@example.org');
      assert.equal(res.prefs.action, 'hold', 'not redirected until confirmed');
      const [confirm] = (await r().waitSunk(n0 + 1)).slice(n0);
      assert.ok(confirm);
      assert.deepEqual(confirm.to, ['red@example.org']);
      // More spam before the confirmation stays held: nothing else reaches the new address.
      assert.equal(
        (await r().send(EXTERNAL_SENDER, ['red@aol.com'], message({ spam: true, external: true }))).code,
        250,
      );
      const between = await settle(r());
      assert.equal(between.slice(n0 + 1).filter((m) => m.to.includes('red@example.org')).length, 0);
      const token = /\/q\/c\/([A-Za-z0-9_-]{22})/.exec(decodeQp(confirm.raw.toString('latin1')))?.[1];
      assert.ok(token, 'the confirmation mail carries the confirm link');
      assert.deepEqual(await s.confirmRedirect(token), { recipient: 'red@aol.com', to: 'red@example.org' });
      assert.equal(await s.confirmRedirect(token), undefined, 'a confirm link works once');
      // Held mail goes there now, with the trace header, and a notice tells the recipient.
      const after1 = await r().waitSunk(n0 + 1 + 3);
      const redirected = after1.slice(n0 + 1).filter((m) => m.to.includes('red@example.org'));
      assert.equal(redirected.length, 2);
      const trace = 'X-Smarthold-Redirected-For: <red@aol.com>\r\n';
      for (const m of redirected)
        assert.ok(m.raw.toString('latin1').startsWith(trace), 'trace header on top');
      const sentFirst = redirected.find((m) => m.raw.includes('held before redirect'));
      assert.ok(sentFirst);
      // Below the trace header: the held copy as received (our Received line, then the bytes sent).
      assert.equal(withoutOurReceived(sentFirst.raw.subarray(trace.length)).toString('latin1'), first);
      assert.equal(
        notices(after1.slice(n0 + 1)).filter((n) => n.to === 'red@aol.com').length,
        1,
        'redirect-active notice',
      );
      assert.equal(await s.count({ recipient: 'red@aol.com' }), 0, 'nothing held any more');
      // Future spam goes straight there.
      const n1 = r().sunk().length;
      const later = await r().send(EXTERNAL_SENDER, ['red@aol.com'], message({ spam: true, external: true }));
      assert.equal(later.code, 250);
      const [fwd] = (await r().waitSunk(n1 + 1)).slice(n1);
      assert.deepEqual(fwd?.to, ['red@example.org']);
      assert.equal((await r().t.app.store.get(queueIdOf(later) ?? ''))?.recipients[0]?.state, 'discarded');
    });

    test('redirect chains are followed; a loop holds the mail', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const s = r().service;
      await s.setRecipientPrefs('c1@aol.com', { action: 'redirect', to: 'c2@example.org', confirmed: true });
      await s.setRecipientPrefs('c2@example.org', {
        action: 'redirect',
        to: 'c3@example.com',
        confirmed: true,
      });
      const n0 = (await settle(r())).length;
      assert.equal(
        (await r().send(EXTERNAL_SENDER, ['c1@aol.com'], message({ spam: true, external: true }))).code,
        250,
      );
      const got = (await r().waitSunk(n0 + 1)).slice(n0).filter((m) => !notices([m]).length);
      assert.deepEqual(got[0]?.to, ['c3@example.com']);
      await s.setRecipientPrefs('l1@aol.com', { action: 'redirect', to: 'l2@example.org', confirmed: true });
      await s
        .setRecipientPrefs('l2@example.org', { action: 'redirect', to: 'l1@aol.com', confirmed: true })
        .catch(() => undefined);
      // l1@aol.com is filtered, so the loop has to be made through an unfiltered address.
      await s.setRecipientPrefs('l2@example.org', {
        action: 'redirect',
        to: 'l3@example.com',
        confirmed: true,
      });
      await s.setRecipientPrefs('l3@example.com', {
        action: 'redirect',
        to: 'l2@example.org',
        confirmed: true,
      });
      const loop = await r().send(EXTERNAL_SENDER, ['l1@aol.com'], message({ spam: true, external: true }));
      assert.equal(loop.code, 250);
      const q = await r().t.app.store.get(queueIdOf(loop) ?? '');
      assert.equal(q?.recipients[0]?.state, 'hold');
      assert.match(q?.recipients[0]?.delay_reason ?? '', /loop/);
    });

    test('sender discard: spam is dropped silently, every 3rd kept for the record; bounce: plain reject', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const s = r().service;
      await s.setSenderPrefs('quiet@example.net', { action: 'discard' });
      const states: string[] = [];
      for (let i = 0; i < 3; i++) {
        const reply = await r().send(
          'quiet@example.net',
          [`q${String(i)}@example.org`],
          message({ spam: true }),
        );
        assert.equal(reply.code, 250);
        const q = await r().t.app.store.get(queueIdOf(reply) ?? '');
        states.push(q?.recipients[0]?.state ?? '');
      }
      assert.deepEqual(states, ['discarded', 'discarded', 'hold']);
      await s.setSenderPrefs('loud@example.net', { action: 'bounce' });
      const b = await r().send('loud@example.net', ['x@example.org'], message({ spam: true }));
      assert.equal(b.code, 550);
      assert.doesNotMatch(b.text, /\/q\/m\//);
      assert.equal(await s.count({ sender: 'loud@example.net' }), 0, 'nothing held');
    });

    test('popular recipients are told instead of bouncing to each sender', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        codes.push(
          (await r().send(`p${String(i)}@example.net`, ['popular@aol.com'], message({ spam: true }))).code,
        );
      }
      // popular_threshold = 2: the first two are bounced with a URL, then the recipient is told.
      assert.deepEqual(codes, [552, 552, 250]);
    });

    test('special recipients are told in preference to the sender; <> is never bounced to', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const sp = await r().send(OUR_SENDER, ['special@example.org'], message({ spam: true }));
      assert.equal(sp.code, 250);
      assert.equal((await r().t.app.store.get(queueIdOf(sp) ?? ''))?.recipients[0]?.state, 'hold');
      const n0 = (await settle(r())).length;
      const nul = await r().send('', ['nullrcpt@aol.com'], message({ spam: true }));
      assert.equal(nul.code, 250);
      assert.equal((await r().t.app.store.get(queueIdOf(nul) ?? ''))?.recipients[0]?.state, 'hold');
      const letters = notices((await r().waitSunk(n0 + 1)).slice(n0));
      assert.deepEqual(
        letters.map((l) => l.to),
        ['nullrcpt@aol.com'],
      );
    });

    test('a bounce quoting our release link gets 3 free passes', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const reply = await r().send('fp@example.net', ['fp@example.org'], message({ spam: true }));
      assert.equal(reply.code, 552);
      const url = releaseUrl(reply);
      const bounce = (i: number) =>
        message({
          spam: true,
          subject: `Undelivered Mail Returned to Sender ${String(i)}`,
          body: `This is the mail system.\r\n552-5.2.1 Your message is quarantined\r\n552 5.2.1 ${url}\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n`,
        });
      // The upstream MTA's bounce comes from <> to our sender, quoting the reject (and the spam).
      const states: string[] = [];
      for (let i = 0; i < 4; i++) {
        const b = await r().send('', ['fp@example.net'], bounce(i));
        assert.equal(b.code, 250);
        const id = queueIdOf(b) ?? '';
        const q = await r().t.app.store.get(id);
        states.push(q?.recipients[0]?.state === 'hold' ? 'held' : 'passed');
      }
      assert.deepEqual(states, ['passed', 'passed', 'passed', 'held']);
    });

    test('listings by recipient match the address exactly, LIKE wildcards included', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const reply = await r().send(
        EXTERNAL_SENDER,
        ['first_last%x@aol.com'],
        message({ spam: true, external: true }),
      );
      assert.equal(reply.code, 250);
      assert.equal(await r().service.count({ recipient: 'First_Last%x@aol.com' }), 1);
      assert.equal(await r().service.count({ recipient: 'firstxlastyx@aol.com' }), 0);
      assert.equal((await r().service.list({ recipient: 'first_last%x@aol.com' })).length, 1);
    });

    test('identical bodies of held mail are stored once', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const body = `${'Same campaign body for everyone, long enough to fill several disk blocks.\r\n'.repeat(200)}XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n`;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const reply = await r().send(
          EXTERNAL_SENDER,
          [`same${String(i)}@aol.com`],
          message({ external: true, body, subject: `same ${String(i)}` }),
        );
        assert.equal(reply.code, 250);
        ids.push(queueIdOf(reply) ?? '');
      }
      const bodies = path.join(r().t.dir, 'spool', 'bodies');
      const files = readdirSync(bodies, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
      const shared = files.filter((d) => !d.name.includes('.tmp'));
      assert.ok(shared.length >= 1);
      // The three held copies share one body file.
      const { statSync } = await import('node:fs');
      const counts = shared.map((d) => statSync(path.join(d.parentPath, d.name)).nlink);
      assert.ok(counts.includes(4), `one body linked from 3 messages (nlink 4): ${JSON.stringify(counts)}`);
      for (const id of ids)
        assert.match((await r().service.raw(id)).toString('latin1'), /Same campaign body/);
    });
  });
}
