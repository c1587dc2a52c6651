/**
 * window.test.ts — window arithmetic and the limiter, with an injected clock
 * and an in-memory counter store; source-mailbox rules; HTML escaping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Clock } from '@smarthold/core';
import { forwardLimitConfig } from './config.js';
import { type CounterRow, type CounterStore, ForwardLimiter } from './counters.js';
import { escapeHtml, renderTopHtml, wantsHtml } from './http.js';
import { addressIn, findSource, type SourceInput } from './source.js';
import { effectiveCount, pruneBefore, windowStart } from './window.js';

const H = 3_600_000;

function memoryStore(): CounterStore & { rows: Map<string, CounterRow> } {
  const rows = new Map<string, CounterRow>();
  const key = (m: string, s: number) => `${m}\u0000${s}`;
  return {
    rows,
    increment(mailbox, windowStart) {
      const r = rows.get(key(mailbox, windowStart));
      const count = (r?.count ?? 0) + 1;
      rows.set(key(mailbox, windowStart), { mailbox, windowStart, count });
      return Promise.resolve(count);
    },
    count: (mailbox, windowStart) => Promise.resolve(rows.get(key(mailbox, windowStart))?.count ?? 0),
    since: (since) => Promise.resolve([...rows.values()].filter((r) => r.windowStart >= since)),
    deleteBefore(before) {
      let n = 0;
      for (const [k, r] of rows) {
        if (r.windowStart < before) {
          rows.delete(k);
          n++;
        }
      }
      return Promise.resolve(n);
    },
  };
}

function fakeClock(start: number): Clock & { set(t: number): void; advance(ms: number): void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v), advance: (ms) => (t += ms) };
}

describe('window arithmetic', () => {
  test('windows are aligned to the epoch', () => {
    assert.equal(windowStart(10 * H + 5, H), 10 * H);
    assert.equal(windowStart(10 * H, H), 10 * H);
    assert.equal(pruneBefore(10 * H + 5, H), 9 * H);
  });
  test('fixed counts the current window only', () => {
    assert.equal(effectiveCount('fixed', 10 * H + 1, H, 3, 100), 3);
  });
  test('sliding weights the previous window by its overlap', () => {
    assert.equal(effectiveCount('sliding', 10 * H, H, 0, 100), 100);
    assert.equal(effectiveCount('sliding', 10 * H + H / 4, H, 2, 100), 77);
    assert.equal(effectiveCount('sliding', 10 * H + H / 2, H, 2, 100), 52);
    assert.equal(effectiveCount('sliding', 11 * H - 1, H, 2, 100), 2);
  });
});

describe('ForwardLimiter with an injected clock', () => {
  test('fixed: the N+1th message in a window is over, the next window starts afresh', async () => {
    const clock = fakeClock(5 * H + 10);
    const lim = new ForwardLimiter(memoryStore(), clock, { windowMs: H, max: 3, mode: 'fixed' });
    for (let i = 1; i <= 3; i++) assert.equal((await lim.hit('a@isp.example')).over, false, `message ${i}`);
    const fourth = await lim.hit('a@isp.example');
    assert.deepEqual(fourth, {
      mailbox: 'a@isp.example',
      count: 4,
      previous: 0,
      estimate: 4,
      max: 3,
      over: true,
    });
    assert.equal((await lim.hit('b@isp.example')).over, false, 'another mailbox is counted apart');
    clock.set(6 * H);
    assert.equal((await lim.hit('a@isp.example')).over, false, 'a new fixed window');
  });

  test('sliding: the previous window still counts until it has slid out', async () => {
    const clock = fakeClock(5 * H);
    const lim = new ForwardLimiter(memoryStore(), clock, { windowMs: H, max: 4, mode: 'sliding' });
    clock.set(6 * H - 1000);
    for (let i = 0; i < 4; i++) await lim.hit('a@isp.example');
    clock.set(6 * H + H / 4); // 3/4 of the previous window overlaps: 4 * 0.75 = 3
    assert.equal((await lim.hit('a@isp.example')).over, false); // 1 + 3 = 4
    const r = await lim.hit('a@isp.example'); // 2 + 3 = 5
    assert.equal(r.estimate, 5);
    assert.equal(r.over, true);
    clock.set(8 * H - 1); // previous window (7H) has 0: only this one counts
    assert.equal((await lim.hit('a@isp.example')).estimate, 1);
    clock.set(9 * H - 1); // previous window (8H) has 1, weight ~0
    assert.equal((await lim.hit('a@isp.example')).estimate, 1);
  });

  test('top lists the busiest mailboxes first, limited', async () => {
    const clock = fakeClock(5 * H);
    const lim = new ForwardLimiter(memoryStore(), clock, { windowMs: H, max: 2, mode: 'fixed' });
    for (let i = 0; i < 3; i++) await lim.hit('busy@isp.example');
    await lim.hit('quiet@isp.example');
    const top = await lim.top(10);
    assert.deepEqual(
      top.map((t) => [t.mailbox, t.count, t.over]),
      [
        ['busy@isp.example', 3, true],
        ['quiet@isp.example', 1, false],
      ],
    );
    assert.equal((await lim.top(1)).length, 1);
  });

  test('prune deletes windows older than the previous one', async () => {
    const store = memoryStore();
    const clock = fakeClock(5 * H);
    const lim = new ForwardLimiter(store, clock, { windowMs: H, max: 2, mode: 'sliding' });
    await lim.hit('a@isp.example');
    clock.set(6 * H);
    await lim.hit('a@isp.example');
    assert.equal(await lim.prune(), 0, 'the previous window is still needed');
    clock.set(7 * H);
    assert.equal(await lim.prune(), 1);
    clock.set(8 * H);
    assert.equal(await lim.prune(), 1);
    assert.equal(store.rows.size, 0);
  });
});

describe('the source mailbox', () => {
  const ours = (a: string) => (a.endsWith('@isp.example') ? 'isp.example' : undefined);
  const opts = { headers: ['Delivered-To', 'X-Original-To'], requireOurDomain: true, envelopeSender: true };
  const input = (
    headers: Record<string, string[]>,
    from: string,
    origin: 'external' | 'internal' = 'external',
  ): SourceInput => ({
    header: (n) => headers[n.toLowerCase()] ?? [],
    from,
    ourDomain: ours,
    originKind: () => origin,
  });

  test('the topmost Delivered-To of ours wins', () => {
    const s = findSource(
      input({ 'delivered-to': ['Alice@ISP.example', 'victim@isp.example'] }, 'spammer@bad.example'),
      opts,
    );
    assert.deepEqual(s, { mailbox: 'alice@isp.example', via: 'Delivered-To' });
  });
  test('a foreign Delivered-To is passed over for X-Original-To', () => {
    const s = findSource(
      input(
        { 'delivered-to': ['x@elsewhere.example'], 'x-original-to': ['<bob@isp.example>'] },
        'spammer@bad.example',
      ),
      opts,
    );
    assert.deepEqual(s, { mailbox: 'bob@isp.example', via: 'X-Original-To' });
  });
  test('the envelope sender counts only when ours and the origin is external', () => {
    assert.deepEqual(findSource(input({}, 'carol@isp.example'), opts), {
      mailbox: 'carol@isp.example',
      via: 'envelope-sender',
    });
    assert.equal(findSource(input({}, 'carol@isp.example', 'internal'), opts).mailbox, null);
    assert.equal(findSource(input({}, 'someone@bad.example'), opts).mailbox, null);
    assert.equal(findSource(input({}, ''), opts).mailbox, null);
    assert.equal(findSource(input({}, 'SRS0=abcd=xy=bad.example=someone@isp.example'), opts).mailbox, null);
    assert.equal(
      findSource(input({}, 'carol@isp.example'), { ...opts, envelopeSender: false }).mailbox,
      null,
    );
  });
  test('addressIn reads bracketed and bare addresses only', () => {
    assert.equal(addressIn(' <A@B.example> '), 'a@b.example');
    assert.equal(addressIn('a@b.example'), 'a@b.example');
    assert.equal(addressIn('not an address'), undefined);
  });
});

describe('config and rendering', () => {
  test('defaults, and unknown keys are refused', () => {
    const c = forwardLimitConfig.parse({});
    assert.equal(c.window, H);
    assert.equal(c.max_messages, 200);
    assert.equal(c.action, 'hold');
    assert.equal(forwardLimitConfig.safeParse({ max_mesages: 1 }).success, false);
    assert.equal(forwardLimitConfig.safeParse({ window: 'soon' }).success, false);
  });
  test('HTML escapes mailbox names', () => {
    assert.equal(escapeHtml(`<a href="x">'&`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;');
    const html = renderTopHtml({
      now: 'n',
      window_ms: H,
      window_mode: 'fixed',
      max_messages: 1,
      top: [{ mailbox: '<script>@isp.example', count: 2, previous: 0, estimate: 2, over: true }],
    });
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('&#60;script&#62;@isp.example'));
    assert.equal(wantsHtml('text/html,application/xhtml+xml'), true);
    assert.equal(wantsHtml('application/json, text/html'), false);
    assert.equal(wantsHtml(undefined), false);
  });
});
