/**
 * integration.test.ts — forward-limit inside a running smarthold, with the
 * real sender-auth plugin, over SMTP: the N+1th message from one forwarding
 * mailbox is held while others pass, explain shows why, the admin route
 * answers, and the prune job deletes expired windows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type Clock,
  definePlugin,
  explainText,
  type Kysely,
  queueIdOf,
  startTestSmarthold,
  type TestSmarthold,
} from '@smarthold/core';
import senderAuth from '@smarthold/plugin-sender-auth';
import type { ForwardLimitTables } from './counters.js';
import forwardLimit from './index.js';

const H = 3_600_000;
const MAX = 3;

// Start just after a window boundary, so the fixed window cannot roll over mid-test.
let offset = (Math.floor(Date.now() / H) + 1) * H + 1000 - Date.now();
const clock: Clock = { now: () => Date.now() + offset };

// Reads the plugin's table from the same database (a test-only peek).
let peek: Kysely<ForwardLimitTables> | undefined;
const peeker = definePlugin({
  name: 'peek',
  version: '0.0.0',
  core: '^1',
  setup(ctx) {
    peek = ctx.data.db as Kysely<ForwardLimitTables>;
  },
});

const forwarded = (mailbox: string, n: number) =>
  `Delivered-To: ${mailbox}\r\nReceived: from mx.bad.example (mx.bad.example [203.0.113.9]) by mx1.isp.example; Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: <spammer@bad.example>\r\nTo: <${mailbox}>\r\nSubject: forwarded ${n}\r\n\r\nbody ${n}\r\n`;

describe('forward-limit in smarthold', () => {
  let t: TestSmarthold;
  before(async () => {
    t = await startTestSmarthold({
      clock,
      plugins: [senderAuth, forwardLimit, peeker],
      config: {
        plugins: ['sender-auth', 'forward-limit', 'peek'],
        plugin: {
          // No DNS in tests: only ourDomain() and origin() are used, and sender-auth does not classify on its own.
          'sender-auth': { our_domains: ['isp.example'], check_every_message: false },
          'forward-limit': { max_messages: MAX, window: '1h', window_mode: 'fixed' },
        },
      },
    });
  });
  after(async () => {
    await t.stop();
  });

  async function send(mailbox: string, n: number): Promise<string> {
    const r = await t.send('spammer@bad.example', ['friend@gmail.example'], forwarded(mailbox, n));
    assert.equal(r.code, 250, r.text);
    const id = queueIdOf(r);
    assert.ok(id, r.text);
    return id;
  }

  test('the N+1th message from one forwarding mailbox is held; others pass', async () => {
    const ids: string[] = [];
    for (let i = 1; i <= MAX; i++) ids.push(await send('alice@isp.example', i));
    const heldId = await send('alice@isp.example', MAX + 1);
    const bob = await send('bob@isp.example', 1);
    const plain = await t.send(
      'carol@isp.example',
      ['friend@gmail.example'],
      'Subject: own mail\r\n\r\nhi\r\n',
    );
    const plainId = queueIdOf(plain);
    assert.ok(plainId);
    for (const id of [...ids, bob, plainId]) await t.waitForState(id, ['delivered']);
    await t.waitForState(heldId, ['hold']);

    const held = await t.app.store.get(heldId);
    assert.ok(held);
    const limit = held.results.find((r) => r.plugin === 'forward-limit' && r.key === 'limit');
    assert.deepEqual(limit?.value, {
      mailbox: 'alice@isp.example',
      count: MAX + 1,
      previous: 0,
      estimate: MAX + 1,
      max: MAX,
      over: true,
      window_ms: H,
      mode: 'fixed',
      action: 'hold',
    });
    const text = explainText(held);
    assert.match(text, /forward-limit\.source/);
    assert.match(text, /forward-limit: alice@isp\.example forwarded 4 messages/);

    const own = await t.app.store.get(plainId);
    assert.deepEqual(own?.results.find((r) => r.plugin === 'forward-limit' && r.key === 'source')?.value, {
      mailbox: null,
      reason: 'envelope sender is ours but the origin is internal: not forwarded mail',
    });
  });

  test('GET /forward-limit/top answers JSON and escaped HTML', async () => {
    const base = `http://127.0.0.1:${t.app.httpPort}/forward-limit/top`;
    const res = await fetch(base, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      max_messages: number;
      top: { mailbox: string; count: number; over: boolean }[];
    };
    assert.equal(body.max_messages, MAX);
    assert.deepEqual(
      body.top.map((x) => [x.mailbox, x.count, x.over]),
      [
        ['alice@isp.example', MAX + 1, true],
        ['bob@isp.example', 1, false],
      ],
    );
    const one = (await (await fetch(`${base}?limit=1`, { signal: AbortSignal.timeout(5000) })).json()) as {
      top: unknown[];
    };
    assert.equal(one.top.length, 1);
    const html = await fetch(base, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(5000) });
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    const page = await html.text();
    assert.match(page, /<td>alice@isp\.example<\/td><td>4<\/td>/);
  });

  test('the prune job deletes expired windows', async () => {
    assert.ok(peek);
    const rows = () => peek?.selectFrom('forward_limit_counters').selectAll().execute();
    assert.equal((await rows())?.length, 2);
    offset += H; // the old window is now the previous one: still kept
    await t.app.jobs.runNow('forward-limit/prune');
    assert.equal((await rows())?.length, 2);
    offset += H;
    await t.app.jobs.runNow('forward-limit/prune');
    assert.equal((await rows())?.length, 0);
    // and alice may forward again
    const id = await send('alice@isp.example', 99);
    await t.waitForState(id, ['delivered']);
  });
});
