/**
 * admin-browser.test.ts — the admin page in real headless Chromium (Debian's,
 * see test-browser.ts), served by the real plugin on 127.0.0.1 with mail held
 * over real SMTP (test-pages.ts).
 *
 * What an operator does: open /q/admin (sent to the sign-in form), sign in
 * with a wrong then the right password, search for part of an address, open
 * a sender from the results, see its settings, counters and held mail,
 * change its settings (checked in the store), release one held message (it
 * reaches the capture sink) and delete another, delete the rest through the
 * "all" confirmation, sign out and find the door closed again. The browser keeps and sends the cookie itself, so this also
 * checks that its attributes (SameSite=Strict, no Path) work in a browser.
 * No console errors or CSP violations; the stylesheet applies; nothing
 * overflows a phone-sized screen.
 *
 * Skips when Chromium is missing (fails instead under
 * SMARTHOLD_TEST_REQUIRE=all or =chromium).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CapturedMessage } from '@smarthold/core';
import bcrypt from 'bcryptjs';
import type { Browser, Locator, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, watch } from './test-browser.js';
import { mail, type PagesRig, RECIPIENT, SITE, startPagesRig } from './test-pages.js';

const skip = await chromiumSkip();

const STEP_MS = 10_000;
const PHONE = { width: 375, height: 700 };
const SENDER = 'quinn@example.net';

describe('admin page in Chromium', { skip, timeout: 120_000 }, () => {
  let rig: PagesRig;
  let browser: Browser;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'smarthold-admin-browser-'));
    const file = path.join(dir, 'htpasswd');
    await writeFile(file, `postmaster:$2y$${bcrypt.hashSync('open sesame', 4).slice(4)}\n`);
    rig = await startPagesRig({ quarantine: { admin: { htpasswd: file } } });
    browser = await launchChromium();
  });
  after(async () => {
    // Unset when before() failed half-way.
    await (browser as Browser | undefined)?.close();
    await (rig as PagesRig | undefined)?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Clicks a submit button (by name, or the one given) and waits for the
   * POST's answer and the page shown after it; returns the POST's status.
   */
  async function submit(page: Page, button: string | Locator): Promise<number> {
    const posted = page.waitForResponse((r) => r.request().method() === 'POST');
    const shown = page.waitForEvent('framenavigated', (f) => f === page.mainFrame());
    await (
      typeof button === 'string' ? page.getByRole('button', { name: button, exact: true }) : button
    ).click();
    const status = (await posted).status();
    await shown;
    await page.waitForLoadState();
    return status;
  }

  /** The stylesheet applies (values only it sets). */
  async function assertStyled(page: Page): Promise<void> {
    const maxWidth = await page.evaluate('getComputedStyle(document.body).maxWidth');
    assert.equal(maxWidth, '832px', `stylesheet not applied at ${page.url()}`);
  }

  /** The Release or Delete button in the held-mail row with this subject. */
  const rowButton = (page: Page, subject: string, name: 'Release' | 'Delete'): Locator =>
    page.locator('#held tbody tr').filter({ hasText: subject }).getByRole('button', { name, exact: true });
  const withSubject = (subject: string) => (m: CapturedMessage) =>
    m.raw.toString('latin1').includes(`\r\nSubject: ${subject}\r\n`);

  test('sign in, search, open a sender, change its settings, release and delete its mail, sign out', async () => {
    const watches = await rig.hold(
      SENDER,
      [RECIPIENT],
      mail({ from: SENDER, subject: 'Quinn cheap watches' }),
    );
    const pills = await rig.hold(SENDER, [RECIPIENT], mail({ from: SENDER, subject: 'Quinn cheap pills' }));
    const loans = await rig.hold(SENDER, [RECIPIENT], mail({ from: SENDER, subject: 'Quinn cheap loans' }));
    await rig.service.setSenderPrefs('quentin@example.net', {});
    const context = await browser.newContext({ viewport: PHONE });
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
    const page = await context.newPage();
    const problems = watch(page);
    try {
      await page.goto(`${rig.base}/q/admin`);
      assert.equal(new URL(page.url()).pathname, '/q/admin/login', 'sent to the sign-in form');
      assert.equal(await page.title(), `Admin sign-in · ${SITE}`);
      await assertStyled(page);

      await page.getByLabel('User name').fill('postmaster');
      await page.getByLabel('Password').fill('wrong');
      assert.equal(await submit(page, 'Sign in'), 401);
      assert.match(await page.locator('[role=alert]').innerText(), /Wrong user name or password/);
      assert.equal(await page.getByLabel('User name').inputValue(), 'postmaster', 'the name is kept');
      await page.getByLabel('Password').fill('open sesame');
      assert.equal(await submit(page, 'Sign in'), 303);
      assert.equal(new URL(page.url()).pathname, '/q/admin');
      assert.match(await page.locator('nav.admin').innerText(), /Signed in as postmaster/);
      const [cookie] = await context.cookies();
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(cookie.path, '/q/admin', 'scoped to the admin pages by the sign-in URL');

      // Search: a GET form; part of an address finds both senders.
      await page.getByLabel('Address, or part of one').fill('qu');
      await page.getByLabel('senders', { exact: true }).check();
      await Promise.all([
        page.waitForURL(/\/q\/admin\?/),
        page.getByRole('button', { name: 'Search' }).click(),
      ]);
      const found = await page.locator('#senders tbody tr td:first-child').allInnerTexts();
      assert.deepEqual(found, ['quentin@example.net', SENDER]);
      await assertStyled(page);

      await page.getByRole('link', { name: SENDER }).click();
      await page.waitForURL(/\/q\/admin\/sender\?a=/);
      assert.equal(await page.locator('h1').innerText(), `Sender ${SENDER}`);
      const facts = await page.locator('#sender-facts').innerText();
      assert.match(facts, /Spammy mail\s+held, sender told \(quarantine\)/);
      assert.match(facts, /Spammy messages\s+3/);
      assert.match(facts, /Held now\s+3/);
      assert.match(await page.locator('#held').innerText(), /Quinn cheap watches/);
      assert.equal(await page.getByLabel(/Hold it and tell the sender/).isChecked(), true);

      await page.getByLabel(/Refuse it/).check();
      await page.getByLabel('Tell the sender at most every').fill('3');
      assert.equal(await submit(page, 'Save settings'), 303);
      assert.match(await page.locator('[role=status]').innerText(), /The settings are saved/);
      assert.equal(await page.getByLabel(/Refuse it/).isChecked(), true);
      const prefs = await rig.service.senderPrefs(SENDER);
      assert.equal(prefs.action, 'bounce');
      assert.equal(prefs.renotifyDays, 3);

      // Nothing overflows a phone's width.
      const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
      assert.ok(width <= PHONE.width, `the sender page is ${String(width)} px wide`);

      // Release one held message: it reaches its recipient at the sink.
      assert.equal(await submit(page, rowButton(page, 'Quinn cheap watches', 'Release')), 303);
      assert.match(await page.locator('[role=status]').innerText(), /Released 1 message/);
      const sunk = await rig.waitSunk(withSubject('Quinn cheap watches'));
      assert.deepEqual(sunk.to, [RECIPIENT]);
      assert.equal((await rig.service.get(watches.queueId))?.state, 'released');
      // Delete another: gone from the hold, never delivered.
      assert.equal(await submit(page, rowButton(page, 'Quinn cheap pills', 'Delete')), 303);
      assert.match(await page.locator('[role=status]').innerText(), /Deleted 1 message/);
      assert.equal((await rig.service.get(pills.queueId))?.state, 'discarded');
      assert.match(await page.locator('#sender-facts').innerText(), /Held now\s+1/);
      // The rest through "all": a confirmation with the count first, which changes nothing.
      await Promise.all([
        page.waitForURL(/\/q\/admin\/sender\/all\?/),
        page.getByRole('button', { name: 'Delete all 1 held…' }).click(),
      ]);
      assert.match(
        await page.locator('#count').innerText(),
        /^1 message is held from quinn@example\.net now\.$/,
      );
      assert.equal((await rig.service.get(loans.queueId))?.state, 'held');
      await assertStyled(page);
      assert.equal(await submit(page, 'Delete all 1'), 303);
      assert.equal(new URL(page.url()).pathname, '/q/admin/sender');
      assert.match(await page.locator('[role=status]').innerText(), /Deleted 1 message/);
      assert.equal((await rig.service.get(loans.queueId))?.state, 'discarded');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rig.sunk().filter(withSubject('Quinn cheap pills')).length, 0);
      assert.equal(rig.sunk().filter(withSubject('Quinn cheap loans')).length, 0);

      assert.equal(await submit(page, 'Sign out'), 303);
      assert.equal(new URL(page.url()).pathname, '/q/admin/login');
      assert.deepEqual(await context.cookies(), [], 'the cookie is gone');
      await page.goto(`${rig.base}/q/admin/sender?a=${encodeURIComponent(SENDER)}`);
      assert.equal(new URL(page.url()).pathname, '/q/admin/login', 'signed out: the door is closed');
      assert.deepEqual(problems, [], 'pages reported console errors, CSP violations or failed loads');
    } finally {
      await context.close();
    }
  });
});
