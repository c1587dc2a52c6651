/**
 * message.test.ts — the message page over real SMTP and HTTP: GET and HEAD
 * change nothing, POST needs its form's CSRF field, release delivers once,
 * Post/Redirect/Get, escaping, headers, the neutral 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertSecurityHeaders,
  csrfOf,
  get,
  mail,
  OTHER_SENDER,
  OUR_SENDER,
  type PagesRig,
  post,
  RECIPIENT,
  resolve,
  SITE,
  startPagesRig,
} from './test-pages.js';

describe('message page', { timeout: 60_000 }, () => {
  let rig: PagesRig;
  before(async () => {
    rig = await startPagesRig();
  });
  after(async () => {
    await rig.stop();
  });

  test('GET shows the held message; GET, GET and HEAD change nothing', async () => {
    const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT], mail({ subject: 'Quarterly figures' }));
    const p = await get(url);
    assert.equal(p.status, 200);
    assert.match(p.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.match(p.html, /Quarterly figures/);
    assert.match(p.html, new RegExp(`<title>[^<]*${SITE}</title>`));
    assert.match(p.html, /alice@example\.net/);
    assert.match(p.html, /12\.5/);
    assert.match(p.html, /<pre class="headers">[^<]*Subject: Quarterly figures/);
    assert.match(p.html, /value="release"/);
    assertSecurityHeaders(p);
    assert.equal(p.headers.get('cache-control'), 'no-store');
    assert.equal((await get(url)).status, 200);
    const head = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    assert.equal(head.status, 200);
    assert.equal((await rig.service.get(queueId))?.state, 'held');
    const queued = await rig.t.app.store.get(queueId);
    assert.deepEqual(
      queued?.recipients.map((r) => r.state),
      ['hold'],
    );
  });

  test('POST without or with a wrong CSRF field is 403 and changes nothing', async () => {
    const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT]);
    const page = await get(url);
    assert.equal((await post(url, { action: 'release' })).status, 403);
    assert.equal((await post(url, { action: 'release', csrf: 'x'.repeat(43) })).status, 403);
    // The field of the "email me a link" form does not release.
    const wrongForm = await post(url, { action: 'release', csrf: csrfOf(page.html, 'access') });
    assert.equal(wrongForm.status, 403);
    assertSecurityHeaders(wrongForm);
    assert.equal((await rig.service.get(queueId))?.state, 'held');
  });

  test('release with CSRF: 303 to the page, delivered once; a second release does nothing', async () => {
    const raw = mail({ subject: 'Release me' });
    const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT], raw);
    const csrf = csrfOf((await get(url)).html, 'release');
    const r = await post(url, { action: 'release', csrf });
    assert.equal(r.status, 303);
    const next = resolve(url, r.location);
    assert.equal(next, `${url}?done=released&n=1`);
    const delivered = await rig.waitSunk((m) => m.raw.toString('latin1').includes('Subject: Release me'));
    assert.deepEqual(delivered.to, [RECIPIENT]);
    assert.equal((await rig.service.get(queueId))?.state, 'released');
    const shown = await get(next);
    assert.equal(shown.status, 200);
    assert.match(shown.html, /Released\./);
    assert.match(shown.html, /already released/);
    assert.doesNotMatch(shown.html, /value="release"/);
    const again = await post(url, { action: 'release', csrf });
    assert.equal(again.status, 303);
    assert.match(again.location ?? '', /done=nothing/);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(
      rig.sunk().filter((m) => m.raw.toString('latin1').includes('Subject: Release me')).length,
      1,
    );
  });

  test('delete discards the message', async () => {
    const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT], mail({ subject: 'Delete me' }));
    const r = await post(url, { action: 'delete', csrf: csrfOf((await get(url)).html, 'delete') });
    assert.equal(r.status, 303);
    assert.equal((await rig.service.get(queueId))?.state, 'discarded');
    assert.match((await get(resolve(url, r.location))).html, /was deleted/);
  });

  test('values from the message are HTML-escaped', async () => {
    const { url } = await rig.hold(
      OTHER_SENDER,
      [RECIPIENT],
      mail({ from: OTHER_SENDER, subject: '<script>alert("x")</script> & <b>bold</b>' }),
    );
    const p = await get(url);
    assert.equal(p.status, 200);
    assert.doesNotMatch(p.html, /<script>/);
    assert.doesNotMatch(p.html, /<b>bold/);
    assert.match(p.html, /&lt;script&gt;alert\(&#34;x&#34;\)&lt;\/script&gt; &amp; &lt;b&gt;bold&lt;\/b&gt;/);
  });

  test("lists the sender's other held messages and mails a link to manage them", async () => {
    const first = await rig.hold(
      OTHER_SENDER,
      [RECIPIENT],
      mail({ from: OTHER_SENDER, subject: 'Older one' }),
    );
    const { url } = await rig.hold(
      OTHER_SENDER,
      [RECIPIENT],
      mail({ from: OTHER_SENDER, subject: 'Newer one' }),
    );
    const p = await get(url);
    assert.match(p.html, /Other mail held from bob@example\.net/);
    assert.match(p.html, /<li><span class="date">[^<]*<\/span> Older one<\/li>/);
    assert.ok(first.queueId);
    const r = await post(url, { action: 'access', csrf: csrfOf(p.html, 'access') });
    assert.equal(r.status, 303);
    assert.match(r.location ?? '', /done=access/);
    const notice = await rig.waitSunk(
      (m) =>
        m.to.includes(OTHER_SENDER) && /^Auto-Submitted: auto-generated/im.test(m.raw.toString('latin1')),
    );
    assert.match(notice.raw.toString('latin1'), /\/q\/s\//);
  });

  test('unknown, malformed and wrong-kind tokens get the same 404', async () => {
    const { token } = await rig.hold(OUR_SENDER, [RECIPIENT]);
    const unknown = await get(`${rig.base}/q/m/AAAAAAAAAAAAAAAAAAAAAA`);
    const malformed = await get(`${rig.base}/q/m/short`);
    const wrongKind = await get(`${rig.base}/q/s/${token}`);
    for (const p of [unknown, malformed, wrongKind]) {
      assert.equal(p.status, 404);
      assertSecurityHeaders(p);
      assert.equal(p.html, unknown.html);
    }
    assert.match(unknown.html, /This link does not work/);
    const posted = await post(`${rig.base}/q/m/AAAAAAAAAAAAAAAAAAAAAA`, { action: 'release' });
    assert.equal(posted.status, 404);
    const path = await get(`${rig.base}/q/nothing/here`);
    assert.equal(path.status, 404);
    assertSecurityHeaders(path);
  });

  test('the stylesheet is served with the same headers', async () => {
    const css = await get(`${rig.base}/q/static/style.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assertSecurityHeaders(css);
    assert.match(css.html, /font-family/);
  });
});
