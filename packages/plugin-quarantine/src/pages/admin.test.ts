/**
 * admin.test.ts — the admin page over real SMTP and HTTP, on SQLite,
 * PostgreSQL and MySQL: signing in (right, wrong and unknown user, CSRF), the session
 * cookie and its attributes, every page needing a live session, signing out
 * ending the session on the server, look-up (exact, substring, bounded,
 * LIKE wildcards taken literally), what an address's page shows, changing
 * settings (CSRF per session; errors; an operator's redirect); releasing
 * and deleting held mail, one message or all of an address after a
 * confirmation that checks the count again (POST only, the session's field
 * of that form, an audit line with the admin's name); the null sender <>
 * looked up as a sender; on SQLite
 * also the htpasswd file changing under a running instance, the sign-in
 * limit per IP and the Secure cookie when the public URL is https; the
 * page off (404) by default; a file with an MD5 entry refused at start.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { DIALECTS, skipFor } from '../test-setup.js';
import { FormSigner } from './csrf.js';
import { AdminSessions, SESSION_COOKIE } from './session.js';
import {
  assertSecurityHeaders,
  csrfOf,
  FILTERED,
  get,
  mail,
  type PagesRig,
  post,
  RECIPIENT,
  resolve,
  startPagesRig,
} from './test-pages.js';

/** As `htpasswd -B` writes it ($2y$), with cost 4 to keep the tests fast. */
const htpasswdLine = (user: string, password: string): string =>
  `${user}:$2y$${bcrypt.hashSync(password, 4).slice(4)}`;

/** A signed-in client: its cookie header. */
interface Client {
  readonly cookie: string;
  readonly headers: Record<string, string>;
}

/** Signs in through the form; returns the answer and, on success, the client. */
async function signIn(rig: PagesRig, user: string, password: string) {
  const url = `${rig.base}/q/admin/login`;
  const form = await get(url);
  const r = await post(url, { user, password, csrf: csrfOf(form.html) });
  const set = r.headers.get('set-cookie') ?? '';
  const cookie = set.split(';')[0] ?? '';
  const client: Client | undefined = cookie ? { cookie, headers: { cookie } } : undefined;
  return { r, set, client };
}

async function mustSignIn(rig: PagesRig, user = 'admin', password = 'secret one'): Promise<Client> {
  const { r, client } = await signIn(rig, user, password);
  assert.equal(r.status, 303, r.html);
  assert.ok(client);
  return client;
}

const adminUrl = (rig: PagesRig, sub = '', q: Record<string, string> = {}): string => {
  const qs = new URLSearchParams(q).toString();
  return `${rig.base}/q/admin${sub}${qs ? `?${qs}` : ''}`;
};

/** The rows of a result table (by id), as the text of their first cell. */
function rowsOf(html: string, id: string): string[] {
  const table = new RegExp(`<table class="held" id="${id}">([\\s\\S]*?)</table>`).exec(html)?.[1] ?? '';
  return [...table.matchAll(/<tr>\s*<td><a [^>]*>([^<]*)<\/a><\/td>/g)].map((m) => m[1] ?? '');
}

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'smarthold-admin-'));
}

for (const dialect of DIALECTS) {
  describe(`admin page (${dialect})`, { timeout: 120_000 }, () => {
    let rig: PagesRig | undefined;
    let dir = '';
    let skip: false | string = false;
    before(async () => {
      skip = await skipFor(dialect);
      if (skip) return;
      dir = await tempDir();
      const file = path.join(dir, 'htpasswd');
      await writeFile(
        file,
        `# admins\n${htpasswdLine('admin', 'secret one')}\n${htpasswdLine('ops', 'secret two')}\n`,
      );
      rig = await startPagesRig({
        dialect,
        quarantine: { admin: { htpasswd: file, login_attempts: 100 } },
        captureLog: true,
      });
    });
    after(async () => {
      await rig?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });
    const r = (): PagesRig => rig ?? assert.fail('no rig');

    test('sign-in: wrong password and unknown user get the same 401; the right one a session cookie', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const form = await get(adminUrl(r(), '/login'));
      assert.equal(form.status, 200);
      assertSecurityHeaders(form);
      assert.equal(form.headers.get('cache-control'), 'no-store');
      assert.match(form.html, /name="password"/);

      const noCsrf = await post(adminUrl(r(), '/login'), { user: 'admin', password: 'secret one' });
      assert.equal(noCsrf.status, 403);
      assert.equal(noCsrf.headers.get('set-cookie'), null);

      const wrong = await signIn(r(), 'admin', 'secret two');
      const unknown = await signIn(r(), 'nobody', 'secret one');
      for (const a of [wrong, unknown]) {
        assert.equal(a.r.status, 401);
        assert.equal(a.set, '');
        assert.match(a.r.html, /Wrong user name or password\./);
      }

      const ok = await signIn(r(), 'admin', 'secret one');
      assert.equal(ok.r.status, 303);
      assert.equal(resolve(adminUrl(r(), '/login'), ok.r.location), adminUrl(r()));
      assert.match(
        ok.set,
        new RegExp(
          `^${SESSION_COOKIE}=[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Max-Age=28800$`,
        ),
      );
      assert.ok(ok.client);
      const page = await get(adminUrl(r()), ok.client.headers);
      assert.equal(page.status, 200);
      assertSecurityHeaders(page);
      assert.match(page.html, /Signed in as <strong>admin<\/strong>/);
      const again = await get(adminUrl(r(), '/login'), ok.client.headers);
      assert.equal(again.status, 303, 'signed in: the form sends you on');
    });

    test('without a live session, GETs go to the sign-in form and POSTs change nothing', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const login = adminUrl(r(), '/login');
      for (const url of [
        adminUrl(r()),
        adminUrl(r(), '/sender', { a: 'x@example.net' }),
        adminUrl(r(), '/recipient', { a: 'x@example.net' }),
      ]) {
        const p = await get(url);
        assert.equal(p.status, 303, url);
        assert.equal(resolve(url, p.headers.get('location')), login);
      }
      const client = await mustSignIn(r());
      const [id = '', mac = ''] = client.cookie.slice(SESSION_COOKIE.length + 1).split('.');
      const flipped = `${SESSION_COOKIE}=${id}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
      const otherId = `${SESSION_COOKIE}=${id.startsWith('A') ? 'B' : 'A'}${id.slice(1)}.${mac}`;
      for (const cookie of [flipped, otherId, `${SESSION_COOKIE}=garbage`]) {
        assert.equal((await get(adminUrl(r()), { cookie })).status, 303, cookie);
      }
      // A real session's form field, posted without its cookie.
      const sender = 'nocookie@example.net';
      const page = await get(adminUrl(r(), '/sender', { a: sender }), client.headers);
      const csrf = csrfOf(page.html, 'quarantine');
      const p = await post(adminUrl(r(), '/sender'), {
        a: sender,
        'sender-action': 'bounce',
        renotify: '',
        csrf,
      });
      assert.equal(p.status, 403);
      assert.match(p.html, /Please sign in/);
      assert.equal((await r().service.senderPrefs(sender)).known, false);
    });

    test('look-up: exact first, substring bounded, case-insensitive, wildcards literal; an address’s page', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const zed = 'zed@example.net';
      await r().hold(zed, [RECIPIENT], mail({ from: zed, subject: 'Zed offer one' }));
      const two = await r().hold(zed, [RECIPIENT], mail({ from: zed, subject: 'Zed offer two' }));
      await r().service.discard(two.queueId, { kind: 'operator', person: true });
      for (let i = 0; i < 55; i++)
        await r().service.setSenderPrefs(`bulk${String(i).padStart(2, '0')}@many.example`, {});
      await r().service.setSenderPrefs('under_score@wild.example', {});
      await r().service.setSenderPrefs('underXscore@wild.example', {});
      const c = await mustSignIn(r(), 'ops', 'secret two');

      const many = await get(adminUrl(r(), '', { q: 'MANY.example', in: 'senders' }), c.headers);
      assert.equal(many.status, 200);
      assert.equal(rowsOf(many.html, 'senders').length, 50);
      assert.equal(rowsOf(many.html, 'senders')[0], 'bulk00@many.example');
      assert.match(many.html, /More senders match/);
      assert.doesNotMatch(many.html, /<h2>Recipients<\/h2>/);

      // The exact address is listed first even where the order by address would leave it out.
      const exact = await get(adminUrl(r(), '', { q: 'bulk54@many.example' }), c.headers);
      assert.deepEqual(rowsOf(exact.html, 'senders'), ['bulk54@many.example']);
      assert.match(exact.html, /No recipient record contains/);

      const wild = await get(adminUrl(r(), '', { q: 'r_s', in: 'senders' }), c.headers);
      assert.deepEqual(rowsOf(wild.html, 'senders'), ['under_score@wild.example']);
      const pct = await get(adminUrl(r(), '', { q: '%', in: 'senders' }), c.headers);
      assert.deepEqual(rowsOf(pct.html, 'senders'), []);

      const both = await get(adminUrl(r(), '', { q: 'ZED@example.net' }), c.headers);
      assert.deepEqual(rowsOf(both.html, 'senders'), [zed]);
      const rcpt = await get(
        adminUrl(r(), '', { q: RECIPIENT.split('@')[0] ?? '', in: 'recipients' }),
        c.headers,
      );
      assert.ok(rowsOf(rcpt.html, 'recipients').includes(RECIPIENT));

      const s = await get(adminUrl(r(), '/sender', { a: zed }), c.headers);
      assert.equal(s.status, 200);
      assertSecurityHeaders(s);
      assert.match(s.html, /<h1>Sender zed@example\.net<\/h1>/);
      assert.match(s.html, /held, sender told \(quarantine\)/);
      assert.match(s.html, /<dt>Spammy messages<\/dt><dd>2<\/dd>/);
      assert.match(s.html, /<dt>Held now<\/dt><dd>1<\/dd>/);
      assert.match(s.html, /Zed offer one/);
      assert.match(s.html, /Zed offer two/);
      assert.match(s.html, />discarded <span class="date">/);
      assert.match(s.html, /value="quarantine" checked/);
      assert.match(
        s.html,
        /<td>127\.0\.0\.1<\/td>|<td>\(unknown\)<\/td>/,
        'when the sender was told, per sending server',
      );

      const rp = await get(adminUrl(r(), '/recipient', { a: RECIPIENT.toUpperCase() }), c.headers);
      assert.equal(rp.status, 200);
      assert.match(rp.html, new RegExp(`<h1>Recipient ${RECIPIENT.replace('.', '\\.')}</h1>`));
      assert.match(rp.html, /held, recipient told now and then \(hold\)/);
      assert.match(rp.html, /Zed offer one/);

      const none = await get(adminUrl(r(), '/sender', { a: 'never@seen.example' }), c.headers);
      assert.equal(none.status, 200);
      assert.match(none.html, /We have no record of this sender/);
      assert.equal((await get(adminUrl(r(), '/sender'), c.headers)).status, 400);
    });

    test('settings: saved with the session’s CSRF field only; bad input is shown with 400', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const c = await mustSignIn(r());
      const other = await mustSignIn(r(), 'ops', 'secret two');
      const sender = 'settings@example.net';
      const url = adminUrl(r(), '/sender', { a: sender });
      const csrf = csrfOf((await get(url, c.headers)).html, 'quarantine');
      const otherCsrf = csrfOf((await get(url, other.headers)).html, 'quarantine');
      assert.notEqual(csrf, otherCsrf);
      const form = { a: sender, 'sender-action': 'discard', renotify: '4' };
      assert.equal((await post(adminUrl(r(), '/sender'), form, { headers: c.headers })).status, 403);
      assert.equal(
        (await post(adminUrl(r(), '/sender'), { ...form, csrf: otherCsrf }, { headers: c.headers })).status,
        403,
        'a field from another session',
      );
      assert.equal((await r().service.senderPrefs(sender)).known, false);

      const ok = await post(adminUrl(r(), '/sender'), { ...form, csrf }, { headers: c.headers });
      assert.equal(ok.status, 303);
      const shown = resolve(adminUrl(r(), '/sender'), ok.location);
      assert.equal(shown, adminUrl(r(), '/sender', { a: sender, done: 'saved' }));
      const prefs = await r().service.senderPrefs(sender);
      assert.equal(prefs.action, 'discard');
      assert.equal(prefs.renotifyDays, 4);
      const page = await get(shown, c.headers);
      assert.match(page.html, /The settings are saved\./);
      assert.match(page.html, /value="discard" checked/);
      assert.match(page.html, /<dd>4 days per sending server<\/dd>/);

      const bad = await post(
        adminUrl(r(), '/sender'),
        { ...form, renotify: 'soon', csrf },
        { headers: c.headers },
      );
      assert.equal(bad.status, 400);
      assert.match(bad.html, /re-notify days must be a whole number/);
      assert.equal((await r().service.senderPrefs(sender)).renotifyDays, 4);

      // Recipients: drop; a filtered redirect target refused; an admin's redirect applies at once.
      const gina = 'gina@example.org';
      const held = await r().hold(
        'hal@example.net',
        [gina],
        mail({ from: 'hal@example.net', subject: 'For Gina' }),
      );
      const rUrl = adminUrl(r(), '/recipient', { a: gina });
      const rCsrf = csrfOf((await get(rUrl, c.headers)).html, 'hold');
      const drop = await post(
        adminUrl(r(), '/recipient'),
        { a: gina, 'recipient-action': 'drop', csrf: rCsrf },
        { headers: c.headers },
      );
      assert.equal(drop.status, 303);
      assert.equal((await r().service.recipientPrefs(gina)).action, 'drop');
      const filtered = await post(
        adminUrl(r(), '/recipient'),
        { a: gina, 'recipient-action': 'redirect', to: 'carol@aol.com', csrf: rCsrf },
        { headers: c.headers },
      );
      assert.equal(filtered.status, 400);
      assert.match(filtered.html, /aol\.com has the same blacklisting policy/);
      assert.equal((await r().service.recipientPrefs(gina)).action, 'drop');
      const redirect = await post(
        adminUrl(r(), '/recipient'),
        { a: gina, 'recipient-action': 'redirect', to: 'Gina.New@Example.com', csrf: rCsrf },
        { headers: c.headers },
      );
      assert.equal(redirect.status, 303);
      const rp = await r().service.recipientPrefs(gina);
      assert.equal(rp.action, 'redirect');
      assert.equal(rp.redirectTo, 'gina.new@example.com');
      await r().waitSunk(
        (m) =>
          m.to.includes('gina.new@example.com') && m.raw.toString('latin1').includes('Subject: For Gina'),
      );
      assert.equal((await r().service.get(held.queueId))?.state, 'released');
      const later = await get(rUrl, c.headers);
      assert.match(later.html, /sent to gina\.new@example\.com \(redirect, confirmed\)/);
    });

    test('a recipient’s page shows a redirect waiting for its confirmation', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      // "_" in the address: the look-up of its confirmation links takes it literally.
      const who = 'pen_ding@example.org';
      await r().service.setRecipientPrefs('penXding@example.org', {
        action: 'redirect',
        to: 'wrong@example.com',
      });
      await r().service.setRecipientPrefs(who, { action: 'redirect', to: 'later@example.com' });
      const c = await mustSignIn(r());
      const page = await get(adminUrl(r(), '/recipient', { a: who }), c.headers);
      assert.equal(page.status, 200);
      assert.match(
        page.html,
        /<dt>Waiting for confirmation<\/dt><dd>redirect to later@example\.com \(link valid until \d{4}-/,
      );
      assert.doesNotMatch(page.html, /wrong@example\.com/);
      assert.match(
        page.html,
        /held, recipient told now and then \(hold\)/,
        'nothing changes before the confirmation',
      );
    });

    test('held mail: release or delete one message, by POST with the session’s field of that form only, logged', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const sender = 'held1@example.net';
      const one = await r().hold(sender, [RECIPIENT], mail({ from: sender, subject: 'Held one' }));
      const two = await r().hold(sender, [RECIPIENT], mail({ from: sender, subject: 'Held two' }));
      const else_ = 'else1@example.net';
      const other = await r().hold(else_, [RECIPIENT], mail({ from: else_, subject: 'Held elsewhere' }));
      const c = await mustSignIn(r());
      const o = await mustSignIn(r(), 'ops', 'secret two');
      const pageUrl = adminUrl(r(), '/sender', { a: sender });
      const page = await get(pageUrl, c.headers);
      assert.match(page.html, /Release all 2 held…/);
      const csrf = csrfOf(page.html, one.queueId);
      const heldUrl = adminUrl(r(), '/sender/held');
      const form = { a: sender, id: one.queueId, action: 'release' };
      const refused: [string, Record<string, string>, Record<string, string>][] = [
        ['no field', form, c.headers],
        [
          'a field from another session',
          { ...form, csrf: csrfOf((await get(pageUrl, o.headers)).html, one.queueId) },
          c.headers,
        ],
        ['the settings form’s field', { ...form, csrf: csrfOf(page.html, 'quarantine') }, c.headers],
        ['no session', { ...form, csrf }, {}],
      ];
      for (const [why, f, headers] of refused) {
        assert.equal((await post(heldUrl, f, { headers })).status, 403, why);
      }
      const byGet = await get(`${heldUrl}?${new URLSearchParams({ ...form, csrf }).toString()}`, c.headers);
      assert.equal(byGet.status, 404, 'no GET acts');
      assert.equal((await r().service.get(one.queueId))?.state, 'held');

      const ok = await post(heldUrl, { ...form, csrf }, { headers: c.headers });
      assert.equal(ok.status, 303);
      const back = resolve(heldUrl, ok.location);
      assert.equal(back, adminUrl(r(), '/sender', { a: sender, done: 'released', n: '1' }));
      await r().waitSunk(
        (m) => m.to.includes(RECIPIENT) && m.raw.toString('latin1').includes('Subject: Held one'),
      );
      assert.equal((await r().service.get(one.queueId))?.state, 'released');
      assert.match((await get(back, c.headers)).html, /Released 1 message: it is on the way/);

      const del = { a: sender, id: two.queueId, action: 'delete', csrf };
      const deleted = await post(heldUrl, del, { headers: c.headers });
      assert.equal(
        resolve(heldUrl, deleted.location),
        adminUrl(r(), '/sender', { a: sender, done: 'deleted', n: '1' }),
      );
      assert.equal((await r().service.get(two.queueId))?.state, 'discarded');
      const again = await post(heldUrl, del, { headers: c.headers });
      assert.equal(
        resolve(heldUrl, again.location),
        adminUrl(r(), '/sender', { a: sender, done: 'nothing' }),
      );
      // A message of another sender, posted from this sender's page: nothing is done.
      const wrong = await post(heldUrl, { ...del, id: other.queueId }, { headers: c.headers });
      assert.equal(
        resolve(heldUrl, wrong.location),
        adminUrl(r(), '/sender', { a: sender, done: 'nothing' }),
      );
      assert.equal((await r().service.get(other.queueId))?.state, 'held');
      for (const bad of [{ action: 'frobnicate' }, { id: 'not-a-queue-id' }]) {
        assert.equal((await post(heldUrl, { ...del, ...bad }, { headers: c.headers })).status, 400);
      }

      const audit = (id: string) =>
        r().logs.filter((l) => l['queue_id'] === id && typeof l['admin'] === 'string');
      assert.deepEqual(
        audit(one.queueId).map((l) => [l['admin'], l['action'], l['sender'], l['msg']]),
        [['admin', 'release', sender, 'admin released held message']],
      );
      assert.deepEqual(
        audit(two.queueId).map((l) => [l['admin'], l['action'], l['sender'], l['msg']]),
        [['admin', 'delete', sender, 'admin deleted held message']],
      );
      assert.deepEqual(audit(other.queueId), []);
    });

    test('held mail: all of an address, after a confirmation that shows the count and checks it again', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const who = 'hank@example.org';
      const from = 'hal2@example.net';
      for (let i = 1; i <= 3; i++)
        await r().hold(from, [who], mail({ from, subject: `For Hank ${String(i)}` }));
      const c = await mustSignIn(r());
      const page = await get(adminUrl(r(), '/recipient', { a: who }), c.headers);
      assert.match(page.html, /Delete all 3 held…/);
      assert.match(page.html, /<form method="get" action="\.\.\/admin\/recipient\/all"/);

      const confirmUrl = adminUrl(r(), '/recipient/all', { a: who, do: 'delete' });
      const shown = await get(confirmUrl, c.headers);
      assert.equal(shown.status, 200);
      assertSecurityHeaders(shown);
      assert.match(shown.html, /<h1>Delete all mail held for hank@example\.org\?<\/h1>/);
      assert.match(shown.html, /<p id="count">3 messages are held for hank@example\.org now\.<\/p>/);
      assert.equal(await r().service.count({ recipient: who }), 3, 'showing it changes nothing');
      const csrf = csrfOf(shown.html, 'delete');

      // One more arrives before the click: nothing is done, the new number is shown.
      await r().hold(from, [who], mail({ from, subject: 'For Hank 4' }));
      const allUrl = adminUrl(r(), '/recipient/all');
      const stale = await post(allUrl, { a: who, do: 'delete', n: '3', csrf }, { headers: c.headers });
      assert.equal(stale.status, 409);
      assert.match(
        stale.html,
        /Nothing was done: the number of messages held for hank@example\.org changed from 3 to 4/,
      );
      assert.equal(await r().service.count({ recipient: who }), 4);

      const form = { a: who, do: 'delete', n: '4' };
      const heldCsrf = csrfOf(page.html, 'release');
      assert.equal((await post(allUrl, form, { headers: c.headers })).status, 403, 'no field');
      assert.equal(
        (await post(allUrl, { ...form, csrf: heldCsrf }, { headers: c.headers })).status,
        403,
        'the one-message form’s field',
      );
      const done = await post(
        allUrl,
        { ...form, csrf: csrfOf(stale.html, 'delete') },
        { headers: c.headers },
      );
      assert.equal(done.status, 303);
      const back = resolve(allUrl, done.location);
      assert.equal(back, adminUrl(r(), '/recipient', { a: who, done: 'deleted', n: '4' }));
      assert.equal(await r().service.count({ recipient: who }), 0);
      assert.equal(await r().service.count({ recipient: who, state: 'discarded' }), 4);
      assert.match((await get(back, c.headers)).html, /Deleted 4 messages\./);
      const lines = r().logs.filter((l) => l['admin'] === 'admin' && l['recipient'] === who);
      assert.equal(lines.filter((l) => l['msg'] === 'admin deleted held message').length, 4);
      assert.deepEqual(
        lines.filter((l) => l['action'] === 'delete-all').map((l) => l['messages']),
        [4],
      );

      // Nothing left: the confirmation says so and offers no button.
      const empty = await get(confirmUrl, c.headers);
      assert.match(empty.html, /No mail is held for hank@example\.org now\./);
      assert.doesNotMatch(empty.html, /method="post" action="all"/);
      assert.equal((await get(adminUrl(r(), '/recipient/all', { a: who, do: 'x' }), c.headers)).status, 400);
    });

    test('the null sender <>: found by the search, its held mail shown and released; it has no settings', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const raw = mail({ from: 'MAILER-DAEMON@example.net', subject: 'Bounce held' });
      assert.equal((await r().t.send('', [FILTERED], raw)).code, 250, 'never bounced to <>: held silently');
      const [held] = (await r().service.list({ sender: '', limit: 100 })).filter(
        (h) => h.subject === 'Bounce held',
      );
      assert.ok(held);
      const c = await mustSignIn(r());
      const found = await get(adminUrl(r(), '', { q: '<>', in: 'senders' }), c.headers);
      assert.equal(rowsOf(found.html, 'senders')[0], '&lt;&gt;');
      assert.match(found.html, /href="admin\/sender\?a=%3C%3E"/);

      const url = adminUrl(r(), '/sender', { a: '<>' });
      const page = await get(url, c.headers);
      assert.equal(page.status, 200);
      assert.match(page.html, /<h1>Sender &lt;&gt;<\/h1>/);
      assert.match(page.html, /Bounce held/);
      assert.match(page.html, /is the null sender/);
      assert.doesNotMatch(page.html, /name="sender-action"/, 'no settings form');
      const settings = await post(
        adminUrl(r(), '/sender'),
        {
          a: '<>',
          'sender-action': 'discard',
          renotify: '',
          csrf: csrfOf(
            (await get(adminUrl(r(), '/sender', { a: 'x@example.net' }), c.headers)).html,
            'quarantine',
          ),
        },
        { headers: c.headers },
      );
      assert.equal(settings.status, 400);
      assert.match(settings.html, /the null sender &lt;&gt; has no settings/);
      assert.equal(await r().service.records.senderRow(''), undefined);

      const release = await post(
        adminUrl(r(), '/sender/held'),
        { a: '<>', id: held.queueId, action: 'release', csrf: csrfOf(page.html, held.queueId) },
        { headers: c.headers },
      );
      assert.equal(
        resolve(adminUrl(r(), '/sender/held'), release.location),
        adminUrl(r(), '/sender', { a: '<>', done: 'released', n: '1' }),
      );
      await r().waitSunk(
        (m) => m.to.includes(FILTERED) && m.raw.toString('latin1').includes('Subject: Bounce held'),
      );
      assert.equal((await r().service.get(held.queueId))?.state, 'released');
      assert.equal((await get(adminUrl(r(), '/recipient', { a: '<>' }), c.headers)).status, 400);
    });

    test('sign-out ends the session on the server: the copied cookie stops working', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const c = await mustSignIn(r());
      const page = await get(adminUrl(r()), c.headers);
      const csrf = csrfOf(page.html, undefined);
      assert.equal((await post(adminUrl(r(), '/logout'), {}, { headers: c.headers })).status, 403);
      assert.equal((await get(adminUrl(r()), c.headers)).status, 200);
      const out = await post(adminUrl(r(), '/logout'), { csrf }, { headers: c.headers });
      assert.equal(out.status, 303);
      assert.equal(resolve(adminUrl(r(), '/logout'), out.location), adminUrl(r(), '/login'));
      assert.match(
        out.headers.get('set-cookie') ?? '',
        new RegExp(`^${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Max-Age=0$`),
      );
      assert.equal((await get(adminUrl(r()), c.headers)).status, 303);
    });

    test('sessions expire; the stored row holds only a hash of the id', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const db = r().service.records.db;
      let now = 1_000_000;
      const sessions = new AdminSessions(
        db,
        new FormSigner(db, r().service.records.dialect),
        () => now,
        60_000,
      );
      const cookie = await sessions.create('admin', 'tag');
      const id = cookie.split('.')[0] ?? '';
      assert.equal((await sessions.find(cookie))?.user, 'admin');
      const rows = await db.selectFrom('quarantine_admin_sessions').select('hash').execute();
      assert.ok(rows.length > 0 && rows.every((row) => row.hash !== id && /^[0-9a-f]{64}$/.test(row.hash)));
      now += 60_000;
      assert.equal(await sessions.find(cookie), undefined);
    });
  });
}

describe('admin page: the htpasswd file changing, the sign-in limit, https', { timeout: 60_000 }, () => {
  let rig: PagesRig;
  let dir: string;
  let file: string;
  before(async () => {
    dir = await tempDir();
    file = path.join(dir, 'htpasswd');
    await writeFile(file, `${htpasswdLine('admin', 'first')}\n`);
    // Served as https (behind a TLS proxy): the cookie is Secure.
    rig = await startPagesRig({
      quarantine: { admin: { htpasswd: file, login_attempts: 4 } },
      publicUrl: 'https://quarantine.example',
    });
  });
  after(async () => {
    await rig.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a changed password ends sessions; bad new lines refuse only their user; then 429', async () => {
    const first = await signIn(rig, 'admin', 'first'); // attempt 1
    assert.match(first.set, /; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
    const c = first.client ?? assert.fail('no session');
    assert.equal((await get(adminUrl(rig), c.headers)).status, 200);
    await writeFile(
      `${file}.new`,
      `${htpasswdLine('admin', 'second')}\nold:$apr1$Vq0Uq2sR$9D2c0Xx3j0kWx2c3Yb8mZ/\n`,
    );
    await rename(`${file}.new`, file);
    assert.equal((await get(adminUrl(rig), c.headers)).status, 303, 'the password changed: signed out');
    await mustSignIn(rig, 'admin', 'second'); // 2
    assert.equal((await signIn(rig, 'old', 'anything')).r.status, 401); // 3
    assert.equal((await signIn(rig, 'admin', 'first')).r.status, 401); // 4
    const limited = await signIn(rig, 'admin', 'second'); // 5: over the limit, even with the right password
    assert.equal(limited.r.status, 429);
    assert.equal(limited.set, '');
  });
});

describe('admin page off', { timeout: 60_000 }, () => {
  let rig: PagesRig;
  before(async () => {
    rig = await startPagesRig();
  });
  after(async () => {
    await rig.stop();
  });

  test('without admin.htpasswd every admin path is the neutral 404 page', async () => {
    const neutral = await get(`${rig.base}/q/no-such-page`);
    assert.equal(neutral.status, 404);
    for (const p of ['/q/admin', '/q/admin/login', '/q/admin/sender?a=x@example.net']) {
      const page = await get(`${rig.base}${p}`);
      assert.equal(page.status, 404, p);
      assert.equal(page.html.replace(/\.\.\//g, ''), neutral.html, p);
    }
    const posted = await post(`${rig.base}/q/admin/login`, { user: 'admin', password: 'x' });
    assert.equal(posted.status, 404);
  });

  test('an htpasswd file with an MD5 entry stops start-up, naming the file and line', async () => {
    const dir = await tempDir();
    try {
      const file = path.join(dir, 'htpasswd');
      await writeFile(file, `${htpasswdLine('admin', 'x')}\nbob:$apr1$Vq0Uq2sR$9D2c0Xx3j0kWx2c3Yb8mZ/\n`);
      await assert.rejects(startPagesRig({ quarantine: { admin: { htpasswd: file } } }), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.ok(err.message.includes(`${file}:2: user "bob": MD5 ($apr1$) hash refused`), err.message);
        assert.match(err.message, /htpasswd -B/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
