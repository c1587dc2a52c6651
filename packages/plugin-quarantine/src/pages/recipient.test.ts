/**
 * recipient.test.ts — the recipient page, its discard page (form and RFC 8058
 * one-click) and the redirect confirmation, over real SMTP and HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertSecurityHeaders,
  csrfOf,
  get,
  linkIn,
  mail,
  OUR_SENDER,
  type PagesRig,
  post,
  RECIPIENT,
  RECIPIENT2,
  resolve,
  startPagesRig,
} from './test-pages.js';

describe('recipient pages', { timeout: 60_000 }, () => {
  let rig: PagesRig;
  before(async () => {
    rig = await startPagesRig();
  });
  after(async () => {
    await rig.stop();
  });

  const recipientPage = (address: string) => rig.service.link('recipient', address);

  test('lists held mail; "deliver to me" releases only that copy; delete only for a sole recipient', async () => {
    const a = 'gina@example.org';
    const b = 'hank@example.org';
    const shared = await rig.hold(OUR_SENDER, [a, b], mail({ subject: 'For both' }));
    const own = await rig.hold(OUR_SENDER, [a], mail({ subject: 'For gina only' }));
    const url = await recipientPage(a);
    const p = await get(url);
    assert.equal(p.status, 200);
    assertSecurityHeaders(p);
    assert.match(p.html, /Mail held for gina@example\.org/);
    assert.match(p.html, /For both/);
    const sharedRow = /<tr>(?:(?!<\/tr>)[\s\S])*For both[\s\S]*?<\/tr>/.exec(p.html)?.[0] ?? '';
    assert.match(sharedRow, /value="deliver"/);
    assert.doesNotMatch(sharedRow, /value="delete"/);
    const csrf = csrfOf(p.html, shared.queueId);

    const r = await post(url, { action: 'deliver', id: shared.queueId, csrf });
    assert.equal(r.status, 303);
    assert.match(r.location ?? '', /done=delivered/);
    const got = await rig.waitSunk((m) => m.raw.toString('latin1').includes('Subject: For both'));
    assert.deepEqual(got.to, [a]);
    assert.equal(
      (await rig.service.get(shared.queueId))?.state,
      'held',
      'still held for the other recipient',
    );

    // Deleting a shared message is not offered, and refused if posted anyway.
    const del = await post(url, { action: 'delete', id: shared.queueId, csrf });
    assert.match(del.location ?? '', /done=nothing/);
    assert.equal((await rig.service.get(shared.queueId))?.state, 'held');
    // Another recipient's message cannot be touched from this page.
    const foreign = await rig.hold(OUR_SENDER, [b], mail({ subject: 'For hank only' }));
    const stolen = await post(url, { action: 'deliver', id: foreign.queueId, csrf });
    assert.match(stolen.location ?? '', /done=nothing/);
    assert.equal((await rig.service.get(foreign.queueId))?.state, 'held');

    const mine = await post(url, { action: 'delete', id: own.queueId, csrf });
    assert.match(mine.location ?? '', /done=deleted/);
    assert.equal((await rig.service.get(own.queueId))?.state, 'discarded');
  });

  test('the discard page changes nothing on GET or HEAD; its form sets drop', async () => {
    const address = 'ivan@example.org';
    await rig.hold(OUR_SENDER, [address]);
    const url = `${await recipientPage(address)}/discard`;
    const p = await get(url);
    assert.equal(p.status, 200);
    assertSecurityHeaders(p);
    assert.match(p.html, /Discard spammy mail for ivan@example\.org\?/);
    await get(url);
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    assert.equal((await rig.service.recipientPrefs(address)).action, 'hold');
    assert.equal((await post(url, {})).status, 403);
    assert.equal((await rig.service.recipientPrefs(address)).action, 'hold');
    const done = await post(url, { csrf: csrfOf(p.html) });
    assert.equal(done.status, 200);
    assert.match(done.html, /Done/);
    assert.equal((await rig.service.recipientPrefs(address)).action, 'drop');
  });

  test('RFC 8058 one-click POST (urlencoded or multipart) sets drop without a CSRF field', async () => {
    const a = 'jane@example.org';
    const url = `${await recipientPage(a)}/discard`;
    const r = await post(url, { 'List-Unsubscribe': 'One-Click' });
    assert.equal(r.status, 200);
    assertSecurityHeaders(r);
    assert.equal((await rig.service.recipientPrefs(a)).action, 'drop');

    const b = 'karl@example.org';
    const boundary = '----oneclick7MA4YWxkTrZu0gW';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const m = await post(
      `${await recipientPage(b)}/discard`,
      {},
      { contentType: `multipart/form-data; boundary=${boundary}`, body },
    );
    assert.equal(m.status, 200);
    assert.equal((await rig.service.recipientPrefs(b)).action, 'drop');
    // Anything else without the CSRF field is refused.
    const c = 'lena@example.org';
    const wrong = await post(`${await recipientPage(c)}/discard`, { 'List-Unsubscribe': 'yes' });
    assert.equal(wrong.status, 403);
    assert.equal((await rig.service.recipientPrefs(c)).action, 'hold');
  });

  test('a redirect to a filtered domain is refused with 400; one confirmation per address per 10 minutes', async () => {
    const url = await recipientPage(RECIPIENT2);
    const csrf = csrfOf((await get(url)).html, 'settings');
    const r = await post(url, { action: 'settings', 'recipient-action': 'redirect', to: 'me@aol.com', csrf });
    assert.equal(r.status, 400);
    assert.match(r.html, /aol\.com has the same blacklisting policy/);
    assert.match(r.html, /Mail held for frank@example\.com/);
    assert.equal((await rig.service.recipientPrefs(RECIPIENT2)).action, 'hold');
    // One confirmation per new address per ten minutes.
    const form = { action: 'settings', 'recipient-action': 'redirect', to: 'twice@example.com', csrf };
    assert.equal((await post(url, form)).status, 303);
    const again = await post(url, form);
    assert.equal(again.status, 429);
    assert.match(again.html, /we sent a confirmation to twice@example\.com a few minutes ago/);
  });

  test('redirect: confirmation mailed to the new address, GET /q/c asks, POST confirms and sends held mail', async () => {
    const target = 'erin.new@example.com';
    const held = await rig.hold(OUR_SENDER, [RECIPIENT], mail({ subject: 'Held before the redirect' }));
    const url = await recipientPage(RECIPIENT);
    const csrf = csrfOf((await get(url)).html, 'settings');
    const r = await post(url, { action: 'settings', 'recipient-action': 'redirect', to: target, csrf });
    assert.equal(r.status, 303);
    assert.match(r.location ?? '', /done=confirm-sent/);
    assert.equal(
      (await rig.service.recipientPrefs(RECIPIENT)).action,
      'hold',
      'nothing changes before confirming',
    );
    assert.match((await get(resolve(url, r.location))).html, /sent a confirmation/);

    const confirmation = await rig.waitSunk((m) => m.to.includes(target));
    const confirmUrl = linkIn(confirmation, 'c');
    const page = await get(confirmUrl);
    assert.equal(page.status, 200);
    assertSecurityHeaders(page);
    assert.match(page.html, /erin@example\.org/);
    assert.match(page.html, /erin\.new@example\.com/);
    await get(confirmUrl);
    assert.equal((await rig.service.recipientPrefs(RECIPIENT)).action, 'hold', 'GET does not confirm');
    assert.equal((await post(confirmUrl, {})).status, 403);

    const done = await post(confirmUrl, { csrf: csrfOf(page.html) });
    assert.equal(done.status, 200);
    assert.match(done.html, /Confirmed/);
    const prefs = await rig.service.recipientPrefs(RECIPIENT);
    assert.equal(prefs.action, 'redirect');
    assert.equal(prefs.redirectTo, target);
    const copy = await rig.waitSunk(
      (m) => m.to.includes(target) && m.raw.toString('latin1').includes('Subject: Held before the redirect'),
    );
    assert.match(copy.raw.toString('latin1'), /^X-Smarthold-Redirected-For: <erin@example\.org>\r\n/m);
    assert.notEqual((await rig.service.get(held.queueId))?.state, 'held');
    // The confirmation link is used up.
    assert.equal((await get(confirmUrl)).status, 404);
  });

  test('rotating the link: 303 to the new page, which shows it once; the old link is dead', async () => {
    const address = 'mona@example.org';
    const url = await recipientPage(address);
    const r = await post(url, { action: 'rotate', csrf: csrfOf((await get(url)).html, 'rotate') });
    assert.equal(r.status, 303);
    const next = resolve(url, r.location);
    assert.match(next, /\/q\/r\/[A-Za-z0-9_-]{22}\?done=rotated$/);
    const fresh = next.replace(/\?.*$/, '');
    assert.notEqual(fresh, url);
    const shown = await get(next);
    assert.equal(shown.status, 200);
    assert.ok(shown.html.includes(fresh), 'the new link is shown');
    assert.equal((await get(url)).status, 404);
    assert.equal((await get(fresh)).status, 200);
  });
});
