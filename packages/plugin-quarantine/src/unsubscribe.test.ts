/**
 * unsubscribe.test.ts — unsubscribing from the mail pages send on request,
 * through the service, over real SMTP, on SQLite, PostgreSQL and MySQL.
 *
 * The sender's access mail and the redirect confirmation carry
 * List-Unsubscribe (to /q/u/TOKEN, an unsubscribe token for that address)
 * and RFC 8058's List-Unsubscribe-Post; once the address unsubscribed, no
 * access mail (sender or recipient) and no redirect confirmation is queued
 * for it, while the callers get the answers they would have got; recipient
 * letters are not affected; clearing the record allows the mail again. The
 * pages (GET changes nothing, one-click POST) are in pages/unsubscribe.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CapturedMessage } from '@smarthold/core';
import { readMessage, fieldValues } from './notices/test-mail.js';
import { DIALECTS, message, notices, type QuarantineRig, settle, skipFor, startRig } from './test-setup.js';

const UNSUBSCRIBE_RE = /^<(https?:\/\/\S+\/q\/u\/([A-Za-z0-9_-]{22}))>$/;

/** Checks the notice's headers and returns its unsubscribe token. */
function unsubscribeTokenOf(m: CapturedMessage): string {
  const read = readMessage(m.raw);
  assert.deepEqual(fieldValues(read, 'Auto-Submitted'), ['auto-generated']);
  assert.deepEqual(fieldValues(read, 'Content-Type'), ['text/plain; charset=utf-8']);
  assert.deepEqual(fieldValues(read, 'List-Unsubscribe-Post'), ['List-Unsubscribe=One-Click']);
  const [value = ''] = fieldValues(read, 'List-Unsubscribe');
  const found = UNSUBSCRIBE_RE.exec(value);
  assert.ok(found, `List-Unsubscribe: ${value}`);
  assert.ok(read.text.includes(`\n  ${found[1] ?? ''}\n`), 'the link is in the text too');
  return found[2] ?? '';
}

for (const dialect of DIALECTS) {
  describe(`unsubscribing from page-requested mail (${dialect})`, () => {
    let rig: QuarantineRig | undefined;
    let skip: false | string = false;
    before(async () => {
      skip = await skipFor(dialect);
      if (!skip) rig = await startRig(dialect);
    });
    after(async () => {
      await rig?.stop();
    });
    const r = (): QuarantineRig => rig ?? assert.fail('no rig');
    const noticesTo = async (address: string) =>
      notices(await settle(r())).filter((n) => n.to === address).length;

    test('the access mail and the redirect confirmation carry List-Unsubscribe to an unsubscribe token', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const s = r().service;
      const sender = 'uns1@example.net';
      assert.equal((await r().send(sender, ['x@example.org'], message({ spam: true }))).code, 552);
      const n0 = (await settle(r())).length;
      assert.equal(await s.sendAccess('sender', sender), true);
      const [access] = (await r().waitSunk(n0 + 1)).slice(n0);
      assert.ok(access);
      assert.deepEqual(access.to, [sender]);
      assert.deepEqual(await s.check(unsubscribeTokenOf(access)), { kind: 'unsubscribe', subject: sender });

      const target = 'uns-target@example.org';
      const res = await s.setRecipientPrefs('uns-r@aol.com', { action: 'redirect', to: target });
      assert.equal(res.confirmationSent, target);
      const [confirm] = (await r().waitSunk(n0 + 2)).slice(n0 + 1);
      assert.ok(confirm);
      assert.deepEqual(confirm.to, [target]);
      assert.deepEqual(await s.check(unsubscribeTokenOf(confirm)), { kind: 'unsubscribe', subject: target });
    });

    test('an unsubscribed address gets no access mail and no redirect confirmation; the answers stay the same', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const s = r().service;
      const address = 'uns2@example.net';
      assert.equal((await r().send(address, ['y@example.org'], message({ spam: true }))).code, 552);
      // Also a known recipient, so that recipient access mail would go too.
      await s.setRecipientPrefs(address, { action: 'hold' });
      assert.equal(await s.unsubscribed(address), undefined);
      assert.equal(await s.unsubscribe('UNS2@example.net', 'one-click'), true);
      assert.equal(await s.unsubscribe(address, 'form'), false, 'the first record stays');
      const rec = await s.unsubscribed(address);
      assert.equal(rec?.address, address);
      assert.equal(rec.via, 'one-click');
      assert.ok(rec.at > 0);

      const before = await noticesTo(address);
      assert.equal(await s.sendAccess('sender', address), false);
      assert.equal(await s.sendAccess('recipient', address), false);
      const res = await s.setRecipientPrefs('uns2-r@aol.com', { action: 'redirect', to: address });
      assert.equal(res.confirmationSent, address, 'the caller is told what it would be told');
      assert.equal(res.prefs.action, 'hold');
      assert.equal(
        await s.askConfirmation('uns2-r@aol.com', address),
        false,
        'what a page calls after answering',
      );
      assert.equal(await noticesTo(address), before, 'nothing queued for the address');
      assert.equal(
        await s.tokens.revoke('confirm', `uns2-r@aol.com\n${address}`),
        0,
        'no confirm token minted',
      );

      // The letter about mail held for the address itself is not page-requested: it still goes.
      assert.ok((await s.recipientLetter(address)) !== undefined);
      assert.equal(await noticesTo(address), before + 1);

      assert.equal(await s.resubscribe(address), true);
      assert.equal(await s.resubscribe(address), false);
      const n0 = (await settle(r())).length;
      assert.equal(await s.sendAccess('sender', address), true);
      assert.deepEqual((await r().waitSunk(n0 + 1))[n0]?.to, [address]);
    });
  });
}
