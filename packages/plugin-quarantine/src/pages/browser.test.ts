/**
 * browser.test.ts — the quarantine's pages in real headless Chromium
 * (Debian's, see test-browser.ts), served by the real plugin on 127.0.0.1
 * with mail held over real SMTP (test-pages.ts).
 *
 * What a person does with the links we send: open a held message (loading it
 * changes nothing), release or delete it, click again on a stale page, set
 * recipient preferences and a redirect and confirm it once, discard spammy
 * mail, ask for a link by mail, act on a sender's list, unsubscribe from
 * page-requested mail. Every action is checked in the store and at the
 * capture sink, not only on the page. Also:
 * tampered or missing CSRF fields are refused and change nothing; the pages
 * work with JavaScript off; no console errors or CSP violations on any page;
 * the stylesheet applies; nothing overflows a phone-sized screen.
 *
 * Skips when Chromium is missing (fails instead under
 * SMARTHOLD_TEST_REQUIRE=all or =chromium).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { CapturedMessage } from '@smarthold/core';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watch } from './test-browser.js';
import {
  linkIn,
  mail,
  OTHER_SENDER,
  OUR_SENDER,
  type PagesRig,
  RECIPIENT,
  SITE,
  startPagesRig,
} from './test-pages.js';

const skip = await chromiumSkip();

/** Every browser step waits at most STEP_MS; a test as a whole at most TEST.timeout. */
const STEP_MS = 10_000;
const TEST = { timeout: 30_000 };
const PHONE = { width: 375, height: 700 };

/** The text of the page's main content (no header or footer). */
const mainText = (page: Page): Promise<string> => page.locator('main').innerText();

/** Matches a raw message with this subject line. */
const subjectRe = (subject: string): RegExp => new RegExp(`^Subject: ${subject}\r$`, 'm');

describe('quarantine pages in Chromium', { skip, timeout: 180_000 }, () => {
  let rig: PagesRig;
  let browser: Browser;
  /** Contexts opened by the running test, and what their pages reported. */
  let open: { context: BrowserContext; problems: string[] }[] = [];

  before(async () => {
    rig = await startPagesRig();
    browser = await launchChromium();
  });
  after(async () => {
    // Unset when before() failed half-way.
    await (browser as Browser | undefined)?.close();
    await (rig as PagesRig | undefined)?.stop();
  });
  afterEach(async () => {
    const problems = open.flatMap((o) => o.problems);
    await Promise.all(open.map((o) => o.context.close()));
    open = [];
    assert.deepEqual(problems, [], 'pages reported console errors, CSP violations or failed loads');
  });

  /** A fresh browser context (own cookies and cache) and a watched page in it. */
  async function newPage(
    opts: { js?: boolean; viewport?: { width: number; height: number } } = {},
  ): Promise<Page> {
    const context = await browser.newContext({
      javaScriptEnabled: opts.js ?? true,
      viewport: opts.viewport ?? { width: 1024, height: 768 },
    });
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
    const problems: string[] = [];
    open.push({ context, problems });
    // Every page of the context, the first and any opened later (a second tab), is watched.
    context.on('page', (p) => {
      watch(p, problems);
    });
    return context.newPage();
  }

  /** Opens `url` and checks the page loaded with `status` and the stylesheet applied. */
  async function visit(page: Page, url: string, status = 200): Promise<void> {
    const r = await page.goto(url);
    assert.equal(r?.status(), status, `GET ${url}`);
    await assertStyled(page);
  }

  /** The stylesheet (/q/static/style.css) applies: values only it sets. */
  async function assertStyled(page: Page): Promise<void> {
    const style = await page.evaluate(
      `(() => { const s = getComputedStyle(document.body); const h = getComputedStyle(document.querySelector('header.site'));
        return [s.maxWidth, h.borderBottomStyle, getComputedStyle(document.documentElement).lineHeight !== 'normal'].join(' '); })()`,
    );
    assert.equal(style, '832px solid true', `stylesheet not applied at ${page.url()}`);
  }

  /** Replaces (or with `undefined` removes) the CSRF field of a form, as a forged form would. */
  async function forgeCsrf(page: Page, formSelector: string, value: string | undefined): Promise<void> {
    const js =
      value === undefined
        ? `document.querySelector(${JSON.stringify(`${formSelector} input[name=csrf]`)}).remove()`
        : `document.querySelector(${JSON.stringify(`${formSelector} input[name=csrf]`)}).value = ${JSON.stringify(value)}`;
    await page.evaluate(js);
  }

  /**
   * Clicks a submit button and waits until the answer is shown: the POST's
   * answer (its status is returned), then the new document loaded (after a
   * 303 that is the page it points to).
   */
  async function submit(page: Page, button: Locator): Promise<number> {
    const posted = page.waitForResponse((r) => r.request().method() === 'POST');
    const shown = page.waitForEvent('framenavigated', (f) => f === page.mainFrame());
    await button.click();
    const status = (await posted).status();
    await shown;
    await page.waitForLoadState();
    return status;
  }

  const heldState = async (queueId: string) => (await rig.service.get(queueId))?.state;
  const queueStates = async (queueId: string) =>
    (await rig.t.app.store.get(queueId))?.recipients.map((r) => r.state);
  const withSubject = (subject: string) => (m: CapturedMessage) =>
    subjectRe(subject).test(m.raw.toString('latin1'));
  const sunkWith = (subject: string) => rig.sunk().filter(withSubject(subject)).length;
  /** Gives mail that should not come time to arrive before counting. */
  const settle = () => new Promise((r) => setTimeout(r, 300));
  const button = (page: Page, name: string | RegExp) =>
    page.getByRole('button', typeof name === 'string' ? { name, exact: true } : { name });
  const status = (page: Page) => page.locator('[role=status]').innerText();

  test(
    'the watcher sees a CSP violation and a script error (so "no problems" means something)',
    TEST,
    async () => {
      const page = await newPage();
      const seen = open.at(-1)?.problems ?? [];
      await page.route('http://csp.test/', (route) =>
        route.fulfill({
          status: 200,
          contentType: 'text/html',
          headers: { 'content-security-policy': "default-src 'none'; style-src 'self'" },
          body: '<!doctype html><title>x</title><style>p{color:red}</style><p>x</p>',
        }),
      );
      await page.goto('http://csp.test/');
      await page.route('http://js.test/', (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: '<script>nope()</script>' }),
      );
      await page.goto('http://js.test/');
      await page.waitForTimeout(100);
      assert.ok(
        seen.some((p) => /Content Security Policy/.test(p)),
        `no CSP violation in ${JSON.stringify(seen)}`,
      );
      assert.ok(
        seen.some((p) => /nope is not defined/.test(p)),
        `no script error in ${JSON.stringify(seen)}`,
      );
      seen.length = 0;
    },
  );

  test('message page: shows the held message; loading and reloading it change nothing', TEST, async () => {
    const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT], mail({ subject: 'Quarterly figures' }));
    const page = await newPage();
    await visit(page, url);
    assert.equal(await page.title(), `Held message · ${SITE}`);
    assert.equal(await page.locator('h1').innerText(), 'A message we are holding');
    const text = await mainText(page);
    assert.match(text, /Our filter thinks this message is probably spam/);
    assert.match(text, /Spam score\s+12\.5 \(we hold mail from 5\)/);
    assert.match(text, /From\s+alice@example\.net/);
    assert.match(text, /Subject\s+Quarterly figures/);
    assert.match(await page.locator('pre.headers').innerText(), /^Subject: Quarterly figures$/m);
    assert.ok(await button(page, 'Release').isVisible());
    assert.ok(await button(page, 'Delete').isVisible());
    await page.reload();
    await page.reload();
    await visit(page, url);
    assert.equal(await heldState(queueId), 'held');
    assert.deepEqual(await queueStates(queueId), ['hold']);
    await settle();
    assert.equal(sunkWith('Quarterly figures'), 0);
  });

  test(
    'message page: Release delivers once; the page then says so; a stale second click does nothing',
    TEST,
    async () => {
      const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT], mail({ subject: 'Release me' }));
      const page = await newPage();
      await visit(page, url);
      const stale = await page.context().newPage();
      await visit(stale, url);

      assert.equal(await submit(page, button(page, 'Release')), 303);
      assert.equal(page.url(), `${url}?done=released&n=1`);
      await assertStyled(page);
      assert.match(await status(page), /^Released\./);
      assert.match(await mainText(page), /This message was already released on \d{4}-\d\d-\d\d/);
      assert.equal(await button(page, 'Release').count(), 0);
      await rig.t.waitForState(queueId, ['delivered']);
      assert.equal(await heldState(queueId), 'released');
      assert.deepEqual((await rig.waitSunk(withSubject('Release me'))).to, [RECIPIENT]);

      // The other tab still shows the button: a second click finds nothing held.
      await submit(stale, button(stale, 'Release'));
      assert.match(stale.url(), /\?done=nothing/);
      assert.match(await status(stale), /Nothing was done: this message is no longer held/);
      // A later visit of the link says it was released and offers nothing to do.
      await visit(stale, url);
      assert.match(await mainText(stale), /already released/);
      assert.equal(await stale.locator('form.actions').count(), 0);
      await settle();
      assert.equal(sunkWith('Release me'), 1);
    },
  );

  test('message page: Delete discards it; nothing is delivered', TEST, async () => {
    const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT], mail({ subject: 'Delete me' }));
    const page = await newPage();
    await visit(page, url);
    await submit(page, button(page, 'Delete'));
    assert.equal(page.url(), `${url}?done=deleted`);
    assert.match(await status(page), /^Deleted\./);
    assert.match(await mainText(page), /This message was deleted on/);
    assert.equal(await heldState(queueId), 'discarded');
    assert.deepEqual(await queueStates(queueId), ['discarded']);
    await settle();
    assert.equal(sunkWith('Delete me'), 0);
  });

  test('CSRF: a tampered, missing or borrowed field is refused and changes nothing', TEST, async () => {
    const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT], mail({ subject: 'Forged release' }));
    const page = await newPage();
    const refused = async (what: string, click: Locator): Promise<void> => {
      assert.equal(await submit(page, click), 403, what);
      assert.equal(await page.title(), `Form expired · ${SITE}`);
      assert.match(await mainText(page), /This form cannot be sent[\s\S]*Nothing was changed/);
      await assertStyled(page);
    };

    await visit(page, url);
    const original = await page.locator('form.actions input[name=csrf]').inputValue();
    await forgeCsrf(page, 'form.actions', (original.startsWith('A') ? 'B' : 'A') + original.slice(1));
    await refused('tampered', button(page, 'Release'));

    await visit(page, url);
    await forgeCsrf(page, 'form.actions', undefined);
    await refused('missing', button(page, 'Delete'));

    // The "email me a link" form's field is genuine, but not for releasing.
    await visit(page, url);
    const borrowed = await page.locator('form:has(button[value=access]) input[name=csrf]').inputValue();
    await forgeCsrf(page, 'form.actions', borrowed);
    await refused('borrowed', button(page, 'Release'));

    assert.equal(await heldState(queueId), 'held');
    assert.deepEqual(await queueStates(queueId), ['hold']);

    // The recipient's settings: a forged field saves nothing.
    const address = 'otto@example.org';
    await visit(page, await rig.service.link('recipient', address));
    await page.getByLabel('Delete it').check();
    await forgeCsrf(page, 'form.settings', 'x'.repeat(43));
    await refused('settings', button(page, 'Save settings'));
    assert.equal((await rig.service.recipientPrefs(address)).action, 'hold');

    await settle();
    assert.equal(sunkWith('Forged release'), 0);
  });

  test('recipient page: "Deliver to me" delivers; a chosen preference is stored', TEST, async () => {
    const address = 'paula@example.org';
    const held = await rig.hold(OUR_SENDER, [address], mail({ subject: 'For paula' }));
    const page = await newPage();
    await visit(page, await rig.service.link('recipient', address));
    assert.equal(await page.title(), `Mail held for ${address} · ${SITE}`);
    const row = page.locator('table.held tr', { hasText: 'For paula' });
    assert.match(await row.innerText(), /alice@example\.net/);
    assert.ok(await page.getByLabel('Hold it').isChecked());

    await submit(page, row.getByRole('button', { name: 'Deliver to me' }));
    assert.match(page.url(), /\?done=delivered$/);
    assert.match(await status(page), /on its way to you/);
    assert.deepEqual((await rig.waitSunk(withSubject('For paula'))).to, [address]);
    assert.equal(await heldState(held.queueId), 'released');
    assert.match(await mainText(page), /No mail is held for you right now/);

    await page.getByLabel('Delete it').check();
    await submit(page, button(page, 'Save settings'));
    assert.match(page.url(), /\?done=saved$/);
    assert.match(await status(page), /Your settings are saved/);
    assert.equal((await rig.service.recipientPrefs(address)).action, 'drop');
    await page.reload();
    assert.ok(await page.getByLabel('Delete it').isChecked(), 'the page shows the stored choice');
  });

  test(
    'recipient page: a redirect is confirmed once, in the browser, from the mailed link',
    TEST,
    async () => {
      const address = 'quinn@example.org';
      const target = 'quinn.new@example.com';
      const held = await rig.hold(OUR_SENDER, [address], mail({ subject: 'Before the redirect' }));
      const page = await newPage();
      await visit(page, await rig.service.link('recipient', address));
      await page.getByLabel('Send it to another address').check();
      await page.getByLabel('New address').fill(target);
      await submit(page, button(page, 'Save settings'));
      assert.match(page.url(), /\?done=confirm-sent$/);
      assert.match(await status(page), /sent a confirmation to the new address/);
      assert.equal(
        (await rig.service.recipientPrefs(address)).action,
        'hold',
        'nothing changes before confirming',
      );

      const confirmUrl = linkIn(await rig.waitSunk((m) => m.to.includes(target)), 'c');
      await visit(page, confirmUrl);
      await page.reload();
      assert.match(await mainText(page), new RegExp(`send the mail we hold for ${address} to ${target}`));
      assert.equal((await rig.service.recipientPrefs(address)).action, 'hold', 'GET does not confirm');
      const stale = await page.context().newPage();
      await visit(stale, confirmUrl);

      assert.equal(await submit(page, button(page, /^Confirm: send mail held for/)), 200);
      assert.equal(await page.locator('h1').innerText(), 'Confirmed');
      await assertStyled(page);
      const prefs = await rig.service.recipientPrefs(address);
      assert.equal(prefs.action, 'redirect');
      assert.equal(prefs.redirectTo, target);
      const copy = await rig.waitSunk((m) => m.to.includes(target) && withSubject('Before the redirect')(m));
      assert.match(copy.raw.toString('latin1'), /^X-Smarthold-Redirected-For: <quinn@example\.org>\r$/m);
      assert.notEqual(await heldState(held.queueId), 'held');

      // Used up: the link and a click on the old tab both get the neutral 404.
      await visit(page, confirmUrl, 404);
      assert.match(await mainText(page), /This link does not work/);
      assert.equal(await submit(stale, button(stale, /^Confirm:/)), 404);
      await settle();
      assert.equal(sunkWith('Before the redirect'), 1);
    },
  );

  test(
    'discard page: loading changes nothing; its button sets "drop"; its link leads back',
    TEST,
    async () => {
      const address = 'rosa@example.org';
      const page = await newPage();
      await visit(page, `${await rig.service.link('recipient', address)}/discard`);
      await page.reload();
      assert.equal((await rig.service.recipientPrefs(address)).action, 'hold');
      assert.equal(await submit(page, button(page, `Discard spammy mail for ${address}`)), 200);
      assert.equal(await page.locator('h1').innerText(), 'Done');
      await assertStyled(page);
      assert.equal((await rig.service.recipientPrefs(address)).action, 'drop');
      await page.getByRole('link', { name: 'the page of mail held for you' }).click();
      await page.waitForURL(/\/q\/r\/[A-Za-z0-9_-]{22}$/);
      assert.equal(await page.locator('h1').innerText(), `Mail held for ${address}`);
      assert.ok(await page.getByLabel('Delete it').isChecked());
    },
  );

  test(
    'unsubscribe page, JavaScript off: loading changes nothing; its button stops page-requested mail',
    TEST,
    async () => {
      const address = 'vera@example.org';
      const page = await newPage({ js: false });
      await visit(page, await rig.service.link('unsubscribe', address));
      await page.reload();
      assert.equal(await page.locator('h1').innerText(), `Stop mail to ${address}?`);
      assert.equal(await rig.service.unsubscribed(address), undefined);
      assert.equal(await submit(page, button(page, `Stop this mail to ${address}`)), 200);
      assert.equal(await page.locator('h1').innerText(), 'Done');
      await assertStyled(page);
      assert.equal((await rig.service.unsubscribed(address))?.via, 'form');
    },
  );

  test('access page: the form mails a link, which opens the sender page', TEST, async () => {
    await rig.hold(OTHER_SENDER, [RECIPIENT], mail({ from: OTHER_SENDER, subject: 'Held from bob' }));
    const page = await newPage();
    await visit(page, `${rig.base}/q/access`);
    await page.getByLabel('a sender').check();
    await page.getByLabel('Address').fill(OTHER_SENDER);
    assert.equal(await submit(page, button(page, 'Email me a link')), 200);
    assert.match(await status(page), /If we hold mail for that address/);
    const letter = await rig.waitSunk(
      (m) => m.to.includes(OTHER_SENDER) && /\/q\/s\//.test(m.raw.toString('latin1')),
    );
    await visit(page, linkIn(letter, 's'));
    assert.equal(await page.locator('h1').innerText(), `Mail held from ${OTHER_SENDER}`);
    assert.match(await mainText(page), /Held from bob/);
  });

  test('sender page: releases the checked message only; saves settings', TEST, async () => {
    const sender = 'sam@example.net';
    const one = await rig.hold(sender, [RECIPIENT], mail({ from: sender, subject: 'Sam one' }));
    const two = await rig.hold(sender, [RECIPIENT], mail({ from: sender, subject: 'Sam two' }));
    const page = await newPage();
    await visit(page, await rig.service.link('sender', sender));
    await page.getByLabel('Sam one').check();
    await submit(page, button(page, 'Release selected'));
    assert.match(page.url(), /\?done=released&n=1$/);
    assert.match(await status(page), /Released 1 message\./);
    await rig.waitSunk(withSubject('Sam one'));
    assert.equal(await heldState(one.queueId), 'released');
    assert.equal(await heldState(two.queueId), 'held');

    await page.getByLabel('Refuse it.').check();
    await page.getByLabel('Tell me at most every').fill('3');
    await submit(page, button(page, 'Save settings'));
    assert.match(page.url(), /\?done=saved$/);
    const prefs = await rig.service.senderPrefs(sender);
    assert.deepEqual([prefs.action, prefs.renotifyDays], ['bounce', 3]);
    await settle();
    assert.equal(sunkWith('Sam two'), 0);
  });

  test('with JavaScript off, the forms still work (release, settings, discard, access)', TEST, async () => {
    const page = await newPage({ js: false });
    // Scripts are off in this context.
    await page.setContent('<title>off</title><script>document.title = "on"</script>');
    assert.equal(await page.title(), 'off');

    const { url, queueId } = await rig.hold(OUR_SENDER, [RECIPIENT], mail({ subject: 'No script' }));
    await visit(page, url);
    await submit(page, button(page, 'Release'));
    assert.equal(page.url(), `${url}?done=released&n=1`);
    await rig.t.waitForState(queueId, ['delivered']);
    assert.equal(await heldState(queueId), 'released');

    const address = 'tess@example.org';
    await visit(page, await rig.service.link('recipient', address));
    await page.getByLabel('Delete it').check();
    await submit(page, button(page, 'Save settings'));
    assert.match(page.url(), /\?done=saved$/);
    assert.equal((await rig.service.recipientPrefs(address)).action, 'drop');

    const other = 'ugo@example.org';
    await visit(page, `${await rig.service.link('recipient', other)}/discard`);
    assert.equal(await submit(page, button(page, /^Discard spammy mail/)), 200);
    assert.equal(await page.locator('h1').innerText(), 'Done');
    assert.equal((await rig.service.recipientPrefs(other)).action, 'drop');

    await visit(page, `${rig.base}/q/access`);
    await page.getByLabel('a recipient').check();
    await page.getByLabel('Address').fill(RECIPIENT);
    assert.equal(await submit(page, button(page, 'Email me a link')), 200);
    assert.match(await status(page), /If we hold mail for that address/);
    await rig.waitSunk((m) => m.to.includes(RECIPIENT) && /\/q\/r\//.test(m.raw.toString('latin1')));
  });

  test(
    'on a 375 px phone every page fits: no sideways scrolling, the main button on screen',
    TEST,
    async () => {
      // Long but real-looking addresses and subject: the text must wrap, not widen the page.
      const sender = 'accounts.receivable.department@mail.example.net';
      const recipient = 'firstname.lastname.department@subdomain.example.org';
      const target = 'firstname.lastname.private@another-provider.example';
      const subject = `Invoice-${'0123456789'.repeat(6)} please pay`;
      const { url } = await rig.hold(sender, [recipient], mail({ from: sender, subject }));
      const recipientUrl = await rig.service.link('recipient', recipient);
      await rig.service.setRecipientPrefs(recipient, { action: 'redirect', to: target });
      const confirmUrl = linkIn(await rig.waitSunk((m) => m.to.includes(target)), 'c');
      const pages: [string, string, string | RegExp | undefined][] = [
        ['message', url, 'Release'],
        ['sender', await rig.service.link('sender', sender), 'Release selected'],
        ['recipient', recipientUrl, 'Deliver to me'],
        ['discard', `${recipientUrl}/discard`, /^Discard spammy mail/],
        ['confirm', confirmUrl, /^Confirm:/],
        ['unsubscribe', await rig.service.link('unsubscribe', target), /^Stop this mail/],
        ['access', `${rig.base}/q/access`, 'Email me a link'],
        ['not found', `${rig.base}/q/m/AAAAAAAAAAAAAAAAAAAAAA`, undefined],
      ];
      const page = await newPage({ viewport: PHONE });
      for (const [name, pageUrl, main] of pages) {
        await visit(page, pageUrl, name === 'not found' ? 404 : 200);
        const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
        assert.ok(
          width <= PHONE.width,
          `the ${name} page is ${String(width)} px wide on a ${String(PHONE.width)} px screen`,
        );
        if (main === undefined) continue;
        const b = button(page, main).first();
        await b.scrollIntoViewIfNeeded();
        assert.ok(await b.isVisible(), `${name}: ${String(main)} is visible`);
        const box = await b.boundingBox();
        assert.ok(
          box && box.x >= 0 && box.x + box.width <= PHONE.width,
          `${name}: ${String(main)} is on screen`,
        );
      }
    },
  );
});
