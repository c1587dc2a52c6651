/**
 * records.test.ts — the statements that differ between dialects, and the
 * places where the dialects could disagree, run on SQLite, PostgreSQL and
 * MySQL/MariaDB through the running plugin's records.
 *
 * Insert-if-absent and the upsert (ON CONFLICT / ON DUPLICATE KEY UPDATE),
 * forgetting idle records without RETURNING, exact comparisons whatever the
 * server's collation (accents, trailing text), LIKE with '!' escapes,
 * numbers from bigint columns and aggregates, long recipient lists (beyond
 * MySQL's 64 KB text), and the shared pages secret. The SMTP paths are in
 * matrix, prefs, throttle, jobs and unsubscribe tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadSecret } from './pages/csrf.js';
import type { NewHeld, Records } from './records.js';
import { DIALECTS, type QuarantineRig, skipFor, startRig } from './test-setup.js';

/** A held-message row to record. */
function held(queueId: string, recipients: readonly string[], size = 1000): NewHeld {
  return {
    queue_id: queueId,
    created_at: 1_700_000_000_000,
    sender: 'Spammer@Example.NET',
    sender_key: 'spammer@example.net',
    origin_ip: '192.0.2.1',
    subject: 'Ünïcode 📨 subject',
    size,
    score: 7.5,
    threshold: 5,
    scanner: 'bayes',
    rules: JSON.stringify(['GTUBE']),
    reason: 'ours-filtered',
    action: 'reject',
    recipients: JSON.stringify(recipients),
  };
}

for (const dialect of DIALECTS) {
  describe(`quarantine records (${dialect})`, () => {
    let rig: QuarantineRig | undefined;
    let skip: false | string = false;
    before(async () => {
      skip = await skipFor(dialect);
      if (!skip) rig = await startRig(dialect);
    });
    after(async () => {
      await rig?.stop();
    });
    const rec = (): Records => rig?.service.records ?? assert.fail('no rig');

    test('the records speak the dialect of the database', (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      assert.equal(rec().dialect, dialect);
    });

    test('insert-if-absent keeps the first row; the upsert replaces the time', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const r = rec();
      await r.setSender('keep@example.org', { action: 'discard' }, 1000);
      await r.countSenderSpam('keep@example.org', 2000, false);
      const s = await r.sender('KEEP@example.org');
      assert.deepEqual([s.action, s.spamCount, s.known], ['discard', 1, true]);
      assert.equal((await r.senderRow('keep@example.org'))?.first_seen, 1000);
      await r.setSenderNotified('keep@example.org', '192.0.2.9', 3000);
      await r.setSenderNotified('keep@example.org', '192.0.2.9', 4000);
      await r.setSenderNotified('keep@example.org', '2001:db8::9', 3500);
      assert.equal(await r.senderNotifiedAt('keep@example.org', '192.0.2.9'), 4000);
      assert.deepEqual(await r.senderNotices('keep@example.org', 10), [
        { ip: '192.0.2.9', notified_at: 4000 },
        { ip: '2001:db8::9', notified_at: 3500 },
      ]);
    });

    test('unsubscribing twice: the first record stays, the second says so', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const r = rec();
      assert.equal(await r.addUnsubscribed('twice@example.org', 'form', 100), true);
      assert.equal(await r.addUnsubscribed('Twice@example.org', 'one-click', 200), false);
      assert.deepEqual(await r.unsubscribed('twice@example.org'), {
        address: 'twice@example.org',
        at: 100,
        via: 'form',
      });
      assert.equal(await r.removeUnsubscribed('twice@example.org'), true);
      assert.equal(await r.removeUnsubscribed('twice@example.org'), false);
    });

    test('addresses that differ only by accents or trailing text are different keys', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const r = rec();
      await r.setRecipient('josé@example.org', { action: 'drop' }, 1000);
      assert.equal((await r.recipient('jose@example.org')).known, false);
      assert.equal((await r.recipient('josé@example.org')).action, 'drop');
      await r.setRecipient('ß@example.org', { action: 'drop' }, 1000);
      assert.equal((await r.recipient('ss@example.org')).known, false);
      assert.deepEqual(
        (await r.findRecipients('jos', 10)).map((x) => x.address),
        ['josé@example.org'],
      );
    });

    test("LIKE filters take '_', '%' and '!' literally", async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const r = rec();
      await r.addHeld(held('LIKE1', ['a_b@example.org']), 1);
      await r.addHeld(held('LIKE2', ['axb@example.org', 'c%d!e@example.org']), 1);
      const ids = async (recipient: string) =>
        (await r.listHeld({ recipient })).map((h) => h.queue_id).sort();
      assert.deepEqual(await ids('a_b@example.org'), ['LIKE1']);
      assert.deepEqual(await ids('axb@example.org'), ['LIKE2']);
      assert.deepEqual(await ids('c%d!e@example.org'), ['LIKE2']);
      assert.deepEqual(await ids('c%d@example.org'), []);
      await r.setSender('under_score@example.org', {}, 1000);
      await r.setSender('underxscore@example.org', {}, 1000);
      assert.deepEqual(
        (await r.findSenders('r_s', 10)).map((x) => x.address),
        ['under_score@example.org'],
      );
    });

    test('bigint columns and aggregates are numbers; a long recipient list is kept whole', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const r = rec();
      // 400 addresses of ~250 octets: about 100 KB of JSON, past MySQL's 64 KB text.
      const many = Array.from(
        { length: 400 },
        (_, i) => `${'x'.repeat(230)}${String(i).padStart(3, '0')}@example.org`,
      );
      await r.addHeld(held('NUM1', many, 2 ** 40), 1);
      await r.addHeld(held('NUM2', ['n@example.org'], 5), 1);
      const row = await r.getHeld('NUM1');
      assert.ok(row);
      assert.deepEqual(JSON.parse(row.recipients), many);
      assert.equal(row.subject, 'Ünïcode 📨 subject');
      assert.equal(row.size, 2 ** 40);
      assert.equal(typeof row.created_at, 'number');
      assert.equal(row.score, 7.5);
      const bytes = await r.heldBytes();
      assert.equal(typeof bytes, 'number');
      assert.ok(bytes >= 2 ** 40 + 5, String(bytes));
      const count = await r.countHeld({ sender: 'spammer@example.net' });
      assert.equal(typeof count, 'number');
      assert.ok(count >= 2);
      await r.addEvents(
        [1, 2, 3].map((at) => ({
          at,
          queue_id: `E${String(at)}`,
          sender: 'heavy@example.org',
          recipient: 'r@example.org',
          ip: '192.0.2.1',
          outcome: 'held',
        })),
      );
      assert.deepEqual(await r.heavySenders(3), [{ sender: 'heavy@example.org', count: 3 }]);
    });

    test('forgetting idle records reports exactly the rows it deleted', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const r = rec();
      // Earlier tests' records were last seen at 1000..2000; these go before and after them.
      for (const a of ['idle1@example.org', 'idle2@example.org']) await r.setSender(a, {}, 10);
      await r.setRecipient('idle3@example.org', { action: 'drop' }, 10);
      await r.setSender('busy@example.org', {}, 10_000);
      await r.setSenderNotified('idle1@example.org', '192.0.2.1', 10);
      const gone = await r.forgetIdle(500);
      assert.deepEqual(gone.senders.sort(), ['idle1@example.org', 'idle2@example.org']);
      assert.deepEqual(gone.recipients, ['idle3@example.org']);
      assert.equal((await r.sender('idle1@example.org')).known, false);
      assert.equal((await r.sender('busy@example.org')).known, true);
      assert.equal(await r.senderNotifiedAt('idle1@example.org', '192.0.2.1'), 0);
      assert.deepEqual(await r.forgetIdle(500), { senders: [], recipients: [] });
    });

    test('the pages secret is created once and read back the same by every caller', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const r = rec();
      const [a, b] = await Promise.all([loadSecret(r.db, r.dialect), loadSecret(r.db, r.dialect)]);
      assert.equal(a.length, 32);
      assert.deepEqual(a, b);
      assert.deepEqual(await loadSecret(r.db, r.dialect), a);
    });
  });
}
