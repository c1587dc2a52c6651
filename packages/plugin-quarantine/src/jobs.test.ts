/**
 * jobs.test.ts — expiry, forgetting and learning, with an injected clock.
 *
 * Held mail expires by age and by total size (the queue copy goes with it);
 * expired links stop working; idle sender and recipient records are
 * forgotten; a release confirmed by a person teaches the scanner "ham", a
 * confirmed delete teaches "spam" only when learn.on_discard is on; a job's
 * own actions teach nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { queueIdOf, silentLogger } from '@smarthold/core';
import { fakeClock } from '@smarthold/testkit';
import { runExpiry } from './jobs.js';
import { DIALECTS, EXTERNAL_SENDER, message, type QuarantineRig, skipFor, startRig } from './test-setup.js';

const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe(`quarantine jobs (${dialect})`, () => {
    const clock = fakeClock(Date.UTC(2026, 2, 1, 12));
    let rig: QuarantineRig | undefined;
    let skip: false | string = false;
    before(async () => {
      skip = await skipFor(dialect);
      if (!skip) {
        rig = await startRig(dialect, {
          clock,
          quarantine: { learn: { on_discard: true }, expire: { max_size: 20_000 } },
        });
      }
    });
    after(async () => {
      await rig?.stop();
    });
    const r = (): QuarantineRig => rig ?? assert.fail('no rig');
    const hold = async (to: string, body?: string): Promise<string> => {
      const reply = await r().send(
        EXTERNAL_SENDER,
        [to],
        message({ spam: true, external: true, ...(body ? { body } : {}) }),
      );
      assert.equal(reply.code, 250);
      return queueIdOf(reply) ?? '';
    };

    test('held mail expires by age, and its queue copy goes too', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const old = await hold('old@aol.com');
      clock.advance(20 * DAY);
      const young = await hold('young@aol.com');
      clock.advance(11 * DAY);
      const report = await runExpiry(r().service, clock.now(), silentLogger());
      assert.equal(report.byAge, 1);
      assert.equal((await r().service.get(old))?.state, 'expired');
      assert.equal((await r().service.get(young))?.state, 'held');
      assert.equal((await r().t.app.store.get(old))?.recipients[0]?.state, 'discarded');
      assert.equal(await r().t.app.spool.size(old), undefined, 'the body is gone');
    });

    test('over max_size, the oldest held mail goes first', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const big =
        `${'x'.repeat(70)}\r\n`.repeat(100) +
        'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n';
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push(await hold(`size${String(i)}@aol.com`, big));
        clock.advance(60_000);
      }
      const report = await runExpiry(r().service, clock.now(), silentLogger());
      assert.ok(report.bySize >= 1);
      assert.ok((await r().service.records.heldBytes()) <= 20_000);
      const states = await Promise.all(ids.map(async (id) => (await r().service.get(id))?.state));
      // Expired ones come first in time order: no held message is older than an expired one.
      const firstHeld = states.indexOf('held');
      assert.ok(firstHeld > 0, JSON.stringify(states));
      assert.ok(
        states.slice(firstHeld).every((s) => s === 'held'),
        JSON.stringify(states),
      );
    });

    test('links expire; idle records are forgotten with their links', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const s = r().service;
      await s.setRecipientPrefs('idle@example.org', { action: 'drop' });
      const link = await s.link('recipient', 'idle@example.org');
      const token = link.split('/').pop() ?? '';
      assert.ok(await s.check(token, 'recipient'));
      clock.advance(61 * DAY);
      assert.equal(await s.check(token, 'recipient'), undefined, 'expired after token_days');
      const fresh = (await s.link('recipient', 'idle@example.org')).split('/').pop() ?? '';
      clock.advance(721 * DAY);
      const report = await runExpiry(s, clock.now(), silentLogger());
      assert.ok(report.forgotten >= 1);
      assert.equal((await s.recipientPrefs('idle@example.org')).known, false);
      assert.equal(await s.check(fresh, 'recipient'), undefined);
    });

    test('people teach the scanner: release → ham, delete → spam (when on); jobs teach nothing', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const s = r().service;
      const a = await hold('learn1@aol.com');
      const b = await hold('learn2@aol.com');
      const c = await hold('learn3@aol.com');
      r().learnt.length = 0;
      assert.equal(await s.release(a, { kind: 'recipient', person: true }), 1);
      assert.equal(await s.discard(b, { kind: 'sender', person: true }), true);
      assert.equal(await s.expire(c), true);
      assert.equal(await s.learnPending(), 2);
      assert.deepEqual(
        r()
          .learnt.map((l) => l.label)
          .sort(),
        ['ham', 'spam'],
      );
      assert.ok(
        r().learnt.every((l) => l.raw.includes('GTUBE')),
        'the held bytes are what is learnt',
      );
      assert.equal(await s.learnPending(), 0, 'each request once');
    });
  });
}
