/**
 * pages/test-browser.ts — Debian's Chromium, headless, for the pages' browser
 * tests (driven by playwright-core, which never downloads a browser).
 *
 * `chromiumSkip()` says whether the suite can run: the executable is
 * SMARTHOLD_TEST_CHROMIUM or /usr/bin/chromium (Debian's `chromium`
 * package); without it the suite skips with a reason, or fails under
 * SMARTHOLD_TEST_REQUIRE=all|chromium (core's needService). `launchChromium()`
 * starts it with a temporary profile and no background traffic (the test
 * machines reach no Google service). `watch()` collects what a page reports
 * that a user would never see: console errors and warnings (Content Security
 * Policy violations among them), script errors, failed subresources. Not
 * shipped (test-* files are left out of the package); no page or store logic.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { needService } from '@smarthold/core';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium unless SMARTHOLD_TEST_CHROMIUM names another executable. */
export function chromiumPath(): string {
  return process.env['SMARTHOLD_TEST_CHROMIUM'] || '/usr/bin/chromium';
}

/**
 * Headless in a container as root, offline: no sandbox (root), no GPU, and
 * none of the background connections (updates, sync, QUIC probes) that the
 * closed test network would refuse.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** false when the browser tests can run, else the reason they skip; throws when chromium is required. */
export async function chromiumSkip(): Promise<false | string> {
  const exe = chromiumPath();
  const hint = `no executable ${exe} (apt-get install chromium, or set SMARTHOLD_TEST_CHROMIUM)`;
  let skip: false | string;
  try {
    skip = await needService('chromium', () => access(exe, constants.X_OK).then(() => true));
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}: ${hint}`, { cause: err });
  }
  return skip === false ? false : `${skip}: ${hint}`;
}

/** Starts headless Chromium with a fresh temporary profile (removed by `close()`). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 30_000,
  });
}

/**
 * Starts recording what `page` reports: console errors and warnings (CSP
 * violations are console errors), uncaught script errors, and subresources
 * that failed or answered an error status, into `problems`. Documents may
 * answer 4xx (the CSRF, 404 and input-error pages are meant to). Returns the
 * live list.
 */
export function watch(page: Page, problems: string[] = []): string[] {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      // Chromium logs every 4xx answer, documents included; subresources are checked below.
      if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) return;
      problems.push(`console ${m.type()} at ${page.url()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (err) => {
    problems.push(`script error at ${page.url()}: ${err.message}`);
  });
  page.on('requestfailed', (r) => {
    problems.push(`${r.resourceType()} ${r.url()} failed: ${r.failure()?.errorText ?? '?'}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && r.request().resourceType() !== 'document') {
      problems.push(`${r.request().resourceType()} ${r.url()} answered ${String(r.status())}`);
    }
  });
  return problems;
}
