/**
 * access.test.ts — /q/access over real HTTP: the same answer for known and
 * unknown addresses, mail only to known ones, one mail per address per ten
 * minutes, the per-client budget, and the CSRF field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertSecurityHeaders,
  csrfOf,
  get,
  OUR_SENDER,
  type PagesRig,
  post,
  RECIPIENT,
  startPagesRig,
} from './test-pages.js';

const isNotice = (raw: Buffer): boolean => /^Auto-Submitted: auto-generated/im.test(raw.toString('latin1'));

describe('/q/access', { timeout: 60_000 }, () => {
  let rig: PagesRig;
  let url: string;
  let csrf: string;
  before(async () => {
    rig = await startPagesRig();
    url = `${rig.base}/q/access`;
  });
  after(async () => {
    await rig.stop();
  });

  const noticesTo = (address: string) => rig.sunk().filter((m) => m.to.includes(address) && isNotice(m.raw));

  test('GET shows the form', async () => {
    const p = await get(url);
    assert.equal(p.status, 200);
    assertSecurityHeaders(p);
    assert.match(p.html, /Get a link by mail/);
    csrf = csrfOf(p.html);
  });

  test('known and unknown addresses get the same answer; only the known one gets mail', async () => {
    await rig.hold(OUR_SENDER, [RECIPIENT]);
    const known = await post(url, { kind: 'sender', address: OUR_SENDER, csrf });
    const unknown = await post(url, { kind: 'sender', address: 'nobody@example.net', csrf });
    assert.equal(known.status, 200);
    assert.equal(unknown.status, known.status);
    assert.equal(unknown.html, known.html);
    const notice = await rig.waitSunk((m) => m.to.includes(OUR_SENDER) && isNotice(m.raw));
    assert.match(notice.raw.toString('latin1'), /\/q\/s\//);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(noticesTo('nobody@example.net').length, 0);
  });

  test('one mail per address per ten minutes, with the same answer', async () => {
    const again = await post(url, { kind: 'sender', address: OUR_SENDER, csrf });
    assert.equal(again.status, 200);
    assert.match(again.html, /If we hold mail for that address/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(noticesTo(OUR_SENDER).length, 1);
  });

  test('a bad address is shown with 400; a missing CSRF field is 403', async () => {
    const bad = await post(url, { kind: 'recipient', address: 'not an address', csrf });
    assert.equal(bad.status, 400);
    assert.match(bad.html, /please enter one mail address/);
    assert.equal((await post(url, { kind: 'sender', address: OUR_SENDER })).status, 403);
  });

  test('a client that asks too often gets 429', async () => {
    let status = 200;
    for (let i = 0; i < 12 && status !== 429; i++) {
      status = (await post(url, { kind: 'recipient', address: `r${String(i)}@example.org`, csrf })).status;
    }
    assert.equal(status, 429);
  });
});
