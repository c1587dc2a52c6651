/**
 * sender.test.ts — the sender page over real SMTP and HTTP: only the token's
 * own held mail can be acted on, release/delete selected and all, settings
 * (and their errors), rotation; and the shared form secret.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FormSigner, SECRET_NAME } from './csrf.js';
import {
  assertSecurityHeaders,
  csrfOf,
  get,
  mail,
  type PagesRig,
  post,
  RECIPIENT,
  resolve,
  startPagesRig,
} from './test-pages.js';

const DAVE = 'dave@example.net';
const EVE = 'eve@example.net';

describe('sender page', { timeout: 60_000 }, () => {
  let rig: PagesRig;
  before(async () => {
    rig = await startPagesRig();
  });
  after(async () => {
    await rig.stop();
  });

  const page = (sender: string) => rig.service.link('sender', sender);
  const stateOf = async (id: string) => (await rig.service.get(id))?.state;

  test('acts only on messages held from the token’s sender (every posted id is checked)', async () => {
    const d1 = await rig.hold(DAVE, [RECIPIENT], mail({ from: DAVE, subject: 'Dave one' }));
    const d2 = await rig.hold(DAVE, [RECIPIENT], mail({ from: DAVE, subject: 'Dave two' }));
    const e1 = await rig.hold(EVE, [RECIPIENT], mail({ from: EVE, subject: 'Eve one' }));
    const url = await page(DAVE);
    const p = await get(url);
    assert.equal(p.status, 200);
    assertSecurityHeaders(p);
    assert.match(p.html, /Dave one/);
    assert.match(p.html, /Dave two/);
    assert.doesNotMatch(p.html, /Eve one/);
    const csrf = csrfOf(p.html, 'release-selected');

    const foreign = await post(url, { action: 'delete-selected', id: [e1.queueId, 'NOSUCHID'], csrf });
    assert.equal(foreign.status, 303);
    assert.match(foreign.location ?? '', /done=deleted&n=0/);
    assert.equal(await stateOf(e1.queueId), 'held');

    const r = await post(url, { action: 'release-selected', id: [d1.queueId, e1.queueId], csrf });
    assert.match(r.location ?? '', /done=released&n=1/);
    assert.equal(await stateOf(d1.queueId), 'released');
    assert.equal(await stateOf(e1.queueId), 'held');
    await rig.waitSunk((m) => m.raw.toString('latin1').includes('Subject: Dave one'));
    assert.match((await get(resolve(url, r.location))).html, /Released 1 message\./);

    // The "all" form's field is needed for "all"; the selection form's is refused.
    assert.equal((await post(url, { action: 'delete-all', csrf })).status, 403);
    const all = await post(url, { action: 'delete-all', csrf: csrfOf(p.html, 'delete-all') });
    assert.match(all.location ?? '', /done=deleted&n=1/);
    assert.equal(await stateOf(d2.queueId), 'discarded');
    assert.equal(await stateOf(e1.queueId), 'held');
  });

  test('settings are saved; bad values are shown with 400', async () => {
    const sender = 'fred@example.net';
    const url = await page(sender);
    const csrf = csrfOf((await get(url)).html, 'settings');
    const ok = await post(url, { action: 'settings', 'sender-action': 'discard', renotify: '3', csrf });
    assert.equal(ok.status, 303);
    assert.match(ok.location ?? '', /done=saved/);
    let prefs = await rig.service.senderPrefs(sender);
    assert.equal(prefs.action, 'discard');
    assert.equal(prefs.renotifyDays, 3);
    const shown = await get(resolve(url, ok.location));
    assert.match(shown.html, /value="discard" checked/);
    assert.match(shown.html, /name="renotify"[^>]*value="3"/);

    const bad = await post(url, { action: 'settings', 'sender-action': 'discard', renotify: 'soon', csrf });
    assert.equal(bad.status, 400);
    assert.match(bad.html, /re-notify days must be a whole number/);
    const badAction = await post(url, { action: 'settings', 'sender-action': 'explode', csrf });
    assert.equal(badAction.status, 400);
    const tooMany = await post(url, {
      action: 'settings',
      'sender-action': 'bounce',
      renotify: '99999',
      csrf,
    });
    assert.equal(tooMany.status, 400);

    const reset = await post(url, { action: 'settings', 'sender-action': 'quarantine', renotify: '', csrf });
    assert.equal(reset.status, 303);
    prefs = await rig.service.senderPrefs(sender);
    assert.equal(prefs.action, 'quarantine');
    assert.equal(prefs.renotifyDays, null);
  });

  test('rotate shows the new link once and kills the old one', async () => {
    const url = await page('gus@example.net');
    const r = await post(url, { action: 'rotate', csrf: csrfOf((await get(url)).html, 'rotate') });
    assert.equal(r.status, 303);
    const next = resolve(url, r.location);
    const fresh = next.replace(/\?.*$/, '');
    assert.match(fresh, /\/q\/s\/[A-Za-z0-9_-]{22}$/);
    assert.ok((await get(next)).html.includes(fresh));
    assert.ok(!(await get(fresh)).html.includes(fresh), 'shown only after rotating');
    assert.equal((await get(url)).status, 404);
  });

  test('the form secret is one shared row, the same for every signer', async () => {
    const url = await page('hugo@example.net');
    const shown = csrfOf((await get(url)).html, 'settings');
    const token = url.slice(-22);
    const other = new FormSigner(rig.service.records.db, rig.service.records.dialect);
    assert.equal(await other.sign(token, 'settings'), shown);
    assert.notEqual(await other.sign(token, 'rotate'), shown);
    const rows = await rig.service.records.db
      .selectFrom('quarantine_settings')
      .selectAll()
      .where('name', '=', SECRET_NAME)
      .execute();
    assert.equal(rows.length, 1);
    assert.equal(Buffer.from(rows[0]?.value ?? '', 'base64url').length, 32);
  });
});
