/**
 * view.test.ts — the page templates: escaping, relative roots, dates, and
 * operator overrides (one file alone; a broken one stops start-up).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { datetime, PageTemplateError, PageView, rootOf } from './view.js';

test('rootOf leads back to /q/ from any page', () => {
  assert.equal(rootOf('/q/access'), '');
  assert.equal(rootOf('/q/m/TOKEN'), '../');
  assert.equal(rootOf('/q/m/TOKEN?done=released'), '../');
  assert.equal(rootOf('/q/r/TOKEN/discard'), '../../');
  assert.equal(rootOf('/q'), 'q/');
});

test('datetime writes UTC minutes and nothing for non-dates', () => {
  assert.equal(datetime(Date.UTC(2026, 0, 5, 10, 7, 59)), '2026-01-05 10:07 UTC');
  assert.equal(datetime('1767607620000'), '2026-01-05 10:07 UTC');
  assert.equal(datetime(undefined), '');
  assert.equal(datetime(null), '');
  assert.equal(datetime(''), '');
  assert.equal(datetime('soon'), '');
});

test('the shipped pages render, escaped, with the site name', async () => {
  const view = await PageView.create({ siteName: 'A & B <ISP>' });
  const html = await view.render('confirm', '../', {
    token: 'T',
    csrf: 'C',
    recipient: '"><script>x</script>@example.org',
    to: 'new@example.com',
  });
  assert.match(html, /<title>Confirm the new address · A &amp; B &lt;ISP&gt;<\/title>/);
  assert.match(html, /href="\.\.\/static\/style\.css"/);
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /&#34;&gt;&lt;script&gt;x&lt;\/script&gt;@example\.org/);
  assert.match(view.css, /font-family/);
});

test('an operator can override one page; a broken override stops start-up', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smarthold-pages-'));
  try {
    mkdirSync(path.join(dir, 'pages'));
    writeFileSync(
      path.join(dir, 'pages', 'not-found.liquid'),
      '{% layout "layout" %}{% block content %}<p>Gone: {{ siteName }}</p>{% endblock %}',
    );
    const view = await PageView.create({ siteName: 'ISP', templatesDir: dir });
    const html = await view.render('not-found', '', {});
    assert.match(html, /<p>Gone: ISP<\/p>/);
    assert.match(html, /<html lang="en">/, 'the shipped layout is still used');
    assert.match(await view.render('access', '', { csrf: 'c' }), /Get a link by mail/);

    writeFileSync(path.join(dir, 'pages', 'error.liquid'), '{% if %}');
    await assert.rejects(PageView.create({ siteName: 'ISP', templatesDir: dir }), (err: unknown) => {
      assert.ok(err instanceof PageTemplateError);
      assert.match(err.message, /error\.liquid/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
