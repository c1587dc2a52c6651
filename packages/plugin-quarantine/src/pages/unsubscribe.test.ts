/**
 * unsubscribe.test.ts — the unsubscribe page, /q/u/TOKEN, over real SMTP and
 * HTTP, reached from the List-Unsubscribe header of the mail a page sends:
 * GET and HEAD change nothing, a POST needs the page's CSRF field or the RFC
 * 8058 one-click body (urlencoded or multipart), and afterwards the pages
 * answer an access request or a redirect to that address as before while no
 * mail goes to it; a redirect's answer is made before anything about the
 * new address is read (so it takes the same time either way).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CapturedMessage } from '@smarthold/core';
import { fieldValues, readMessage } from '../notices/test-mail.js';
import {
  assertSecurityHeaders,
  csrfOf,
  get,
  mail,
  type PagesRig,
  post,
  startPagesRig,
} from './test-pages.js';

const isNotice = (m: CapturedMessage): boolean =>
  /^Auto-Submitted: auto-generated\r$/m.test(m.raw.toString('latin1'));
const settle = () => new Promise((r) => setTimeout(r, 300));

/** The one-click URL of a notice, after checking the RFC 2369 / RFC 8058 pair. */
function unsubscribeUrlOf(m: CapturedMessage): string {
  const read = readMessage(m.raw);
  assert.deepEqual(fieldValues(read, 'List-Unsubscribe-Post'), ['List-Unsubscribe=One-Click']);
  const [value = ''] = fieldValues(read, 'List-Unsubscribe');
  const url = /^<(http:\/\/127\.0\.0\.1:\d+\/q\/u\/[A-Za-z0-9_-]{22})>$/.exec(value)?.[1];
  assert.ok(url, `List-Unsubscribe: ${value}`);
  return url;
}

describe('unsubscribe page', { timeout: 60_000 }, () => {
  let rig: PagesRig;
  before(async () => {
    rig = await startPagesRig({ captureLog: true });
  });
  after(async () => {
    await rig.stop();
  });

  const noticesTo = (address: string) => rig.sunk().filter((m) => m.to.includes(address) && isNotice(m));
  const waitNotice = (address: string, n = 1) =>
    rig
      .waitSunk(() => noticesTo(address).length >= n)
      .then(() => noticesTo(address)[n - 1] as CapturedMessage);
  const unsubscribed = (address: string) => rig.service.unsubscribed(address);

  /** Asks the recipient page of `recipient` to redirect to `to`; returns the answer. */
  async function redirect(recipient: string, to: string) {
    const url = await rig.service.link('recipient', recipient);
    const csrf = csrfOf((await get(url)).html, 'settings');
    return post(url, { action: 'settings', 'recipient-action': 'redirect', to, csrf });
  }

  /** Asks /q/access for a sender's link; returns the answer. */
  async function askAccess(address: string) {
    const url = `${rig.base}/q/access`;
    return post(url, { kind: 'sender', address, csrf: csrfOf((await get(url)).html) });
  }

  test('from the access mail: GET and HEAD change nothing, no CSRF is 403, the form stops the mail', async () => {
    const sam = 'sam@example.net';
    await rig.hold(sam, ['x@example.org'], mail({ from: sam }));
    assert.equal((await askAccess(sam)).status, 200);
    const url = unsubscribeUrlOf(await waitNotice(sam));

    const page = await get(url);
    assert.equal(page.status, 200);
    assertSecurityHeaders(page);
    assert.match(page.html, /Stop mail to sam@example\.net\?/);
    assert.match(page.html, /Opening this page changed nothing/);
    await get(url);
    const head = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    assert.equal(head.status, 200);
    assert.equal(await unsubscribed(sam), undefined, 'GET and HEAD change nothing');

    assert.equal((await post(url, {})).status, 403);
    assert.equal((await post(url, { 'List-Unsubscribe': 'yes' })).status, 403);
    const otherForm = csrfOf((await get(`${rig.base}/q/access`)).html);
    assert.equal((await post(url, { csrf: otherForm })).status, 403);
    assert.equal(await unsubscribed(sam), undefined);

    const done = await post(url, { csrf: csrfOf(page.html) });
    assert.equal(done.status, 200);
    assertSecurityHeaders(done);
    assert.match(done.html, /We will not send mail to sam@example\.net when someone asks/);
    assert.equal((await unsubscribed(sam))?.via, 'form');
    assert.match((await get(url)).html, /This is already done/);

    // A redirect to that address is answered as for any other, and no confirmation goes there.
    const fresh = await redirect('rita@example.org', 'rob@example.org');
    const stopped = await redirect('ruth@example.org', sam);
    assert.equal(stopped.status, fresh.status);
    assert.equal(stopped.status, 303);
    assert.match(stopped.location ?? '', /done=confirm-sent/);
    await waitNotice('rob@example.org');
    await settle();
    assert.equal(noticesTo(sam).length, 1, 'only the first access mail');
  });

  test('from the redirect confirmation: one-click POST stops it; a later access request sends nothing', async () => {
    const tina = 'tina@example.net';
    const uma = 'uma@example.net';
    await rig.hold(tina, ['x@example.org'], mail({ from: tina }));
    await rig.hold(uma, ['x@example.org'], mail({ from: uma }));
    assert.equal((await redirect('tom@example.org', tina)).status, 303);
    const url = unsubscribeUrlOf(await waitNotice(tina));

    const r = await post(url, { 'List-Unsubscribe': 'One-Click' });
    assert.equal(r.status, 200);
    assertSecurityHeaders(r);
    assert.equal((await unsubscribed(tina))?.via, 'one-click');
    assert.equal((await post(url, { 'List-Unsubscribe': 'One-Click' })).status, 200, 'again: still 200');

    const stopped = await askAccess(tina);
    const sent = await askAccess(uma);
    assert.equal(stopped.status, 200);
    assert.equal(stopped.html, sent.html, 'the same answer');
    await waitNotice(uma);
    await settle();
    assert.equal(noticesTo(tina).length, 1, 'only the confirmation');
  });

  test('a redirect to an unsubscribed address is answered before anything about the address is read or built', async () => {
    // Holding back the work the page leaves for after its answer shows what it did before
    // answering: if that is the same on both paths, so is the time it takes (no timing measured).
    const gone = 'gone@example.org';
    const kept = 'kept@example.org';
    assert.equal(await rig.service.unsubscribe(gone, 'form'), true);
    const notSent = () =>
      rig.logs.filter((l) => l['msg'] === 'notice not sent: the address unsubscribed' && l['to'] === gone)
        .length;
    rig.background.hold();
    let answers;
    try {
      answers = [await redirect('rhea@example.org', gone), await redirect('remy@example.org', kept)];
      assert.equal(rig.background.held, 2, 'each page left its confirmation for after the answer');
      assert.equal(notSent(), 0, 'the unsubscribe record was not read before the answer');
      for (const r of ['rhea@example.org', 'remy@example.org']) {
        assert.deepEqual(await rig.service.pendingRedirects(r), [], 'no confirmation link made yet');
      }
    } finally {
      rig.background.release();
    }
    const [a, b] = answers;
    assert.ok(a && b);
    for (const r of [a, b]) {
      assert.equal(r.status, 303);
      assert.match(r.location ?? '', /^[A-Za-z0-9_-]{22}\?done=confirm-sent$/);
    }
    assert.equal(a.html, b.html);
    assert.equal(a.location?.slice(22), b.location?.slice(22));

    // After the answer: the confirmation goes to the address that did not unsubscribe only.
    await rig.background.drain();
    await waitNotice(kept);
    assert.deepEqual(
      (await rig.service.pendingRedirects('remy@example.org')).map((p) => p.to),
      [kept],
    );
    assert.deepEqual(await rig.service.pendingRedirects('rhea@example.org'), []);
    assert.equal(notSent(), 1);
    await settle();
    assert.equal(noticesTo(gone).length, 0);
  });

  test('one-click as multipart/form-data; unknown and wrong-kind tokens get the 404', async () => {
    const mia = 'mia@example.org';
    const url = await rig.service.link('unsubscribe', mia);
    assert.match(url, /\/q\/u\/[A-Za-z0-9_-]{22}$/);
    const boundary = '----oneclickq7MA4YWxkTrZu0gW';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const m = await post(url, {}, { contentType: `multipart/form-data; boundary=${boundary}`, body });
    assert.equal(m.status, 200);
    assert.equal((await unsubscribed(mia))?.via, 'one-click');

    const unknown = await get(`${rig.base}/q/u/AAAAAAAAAAAAAAAAAAAAAA`);
    const wrongKind = await get((await rig.service.link('recipient', mia)).replace('/q/r/', '/q/u/'));
    for (const p of [unknown, wrongKind]) {
      assert.equal(p.status, 404);
      assert.match(p.html, /This link does not work/);
    }
    const nobody = 'nobody@example.org';
    const posted = await post((await rig.service.link('sender', nobody)).replace('/q/s/', '/q/u/'), {
      'List-Unsubscribe': 'One-Click',
    });
    assert.equal(posted.status, 404);
    assert.equal(await unsubscribed(nobody), undefined);
  });
});
