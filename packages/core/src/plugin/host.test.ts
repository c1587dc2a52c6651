// The plugin contract end to end: services between plugins, start-up errors, explain.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { isSmartholdError } from '../errors.js';
import { explainText } from '../explain.js';
import { startTestSmarthold } from '../testing/harness.js';
import { queueIdOf } from '../testing/smtp-client.js';
import { definePlugin } from './api.js';
import { verdict } from './verdict.js';

interface Greeter {
  greet(name: string): string;
}

const calls: string[] = [];
const provider = definePlugin({
  name: 'greeter',
  version: '1.0.0',
  core: '^1',
  provides: ['greeter'],
  setup(ctx) {
    calls.push('setup:greeter');
    ctx.provide('greeter', { greet: (n: string) => `hello ${n}` } satisfies Greeter);
  },
});
const consumer = definePlugin({
  name: 'consumer',
  version: '1.0.0',
  core: '^1',
  requires: ['greeter'],
  config: z.strictObject({ mode: z.enum(['tag', 'hold']).default('tag') }),
  setup(ctx) {
    calls.push('setup:consumer');
    const greeter = ctx.service('greeter') as Greeter;
    ctx.hook('data', (tx) => {
      tx.results.set('greeting', greeter.greet(tx.from));
      return Promise.resolve(
        ctx.config.mode === 'hold' ? verdict.hold('consumer says hold') : verdict.next(),
      );
    });
  },
});

test('a plugin that requires a service runs after its provider and calls it; explain shows it', async () => {
  calls.length = 0;
  // The consumer is listed first: order comes from requires/provides, not from the list.
  const t = await startTestSmarthold({
    plugins: [consumer, provider],
    config: { plugins: ['consumer', 'greeter'] },
  });
  try {
    assert.deepEqual(calls, ['setup:greeter', 'setup:consumer']);
    assert.deepEqual(
      t.app.host.plugins.map((p) => p.manifest.name),
      ['greeter', 'consumer'],
    );
    const r = await t.send('a@example.org', ['b@example.net'], 'Subject: x\r\n\r\nx\r\n');
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['delivered']);
    const m = await t.app.store.get(id);
    assert.ok(m);
    assert.deepEqual(
      m.results.find((x) => x.key === 'greeting'),
      { plugin: 'consumer', key: 'greeting', value: 'hello a@example.org' },
    );
    const text = explainText(m);
    assert.match(text, /consumer\/data\s+continue\s+\d+\.\d{3} ms/);
    assert.match(text, /consumer\.greeting = "hello a@example\.org"/);
    assert.match(text, /<b@example\.net>\s+delivered/);
  } finally {
    await t.stop();
  }
});

test('a hold verdict keeps the message in hold, acknowledged with 250', async () => {
  const t = await startTestSmarthold({
    plugins: [consumer, provider],
    config: { plugins: ['greeter', 'consumer'], plugin: { consumer: { mode: 'hold' } } },
  });
  try {
    const r = await t.send('a@example.org', ['b@example.net'], 'Subject: x\r\n\r\nx\r\n');
    assert.equal(r.code, 250);
    await t.waitForState(queueIdOf(r) ?? '', ['hold']);
    assert.equal(t.sink?.messages.length, 0);
  } finally {
    await t.stop();
  }
});

test('removing the provider stops start-up with a message naming both', async () => {
  await assert.rejects(
    startTestSmarthold({ plugins: [consumer], config: { plugins: ['consumer'] } }),
    (e: unknown) =>
      isSmartholdError(e, 'SMARTHOLD_PLUGIN_MISSING_SERVICE') &&
      /"consumer" requires the service "greeter"/.test(e.message),
  );
});

test('a plugin config error names the plugin, the key and the allowed values', async () => {
  await assert.rejects(
    startTestSmarthold({
      plugins: [consumer, provider],
      config: { plugins: ['greeter', 'consumer'], plugin: { consumer: { mode: 'drop' } } },
    }),
    (e: unknown) =>
      isSmartholdError(e, 'SMARTHOLD_PLUGIN_CONFIG') &&
      /plugin "consumer"/.test(e.message) &&
      /plugin\.consumer\.mode/.test(e.message) &&
      /"tag", "hold"/.test(e.message),
  );
});

test('a plugin for another API major is refused', async () => {
  const old = definePlugin({ name: 'old', version: '1.0.0', core: '^2', setup: () => undefined });
  await assert.rejects(startTestSmarthold({ plugins: [old], config: { plugins: ['old'] } }), (e: unknown) =>
    isSmartholdError(e, 'SMARTHOLD_PLUGIN_API_MISMATCH'),
  );
});

test("a plugin's own tables: migrations run once, per plugin, and the data persists across restarts", async () => {
  let db: Kysely<{ counter_hits: { sender: string; n: number } }> | undefined;
  const counter = definePlugin({
    name: 'counter',
    version: '1.0.0',
    core: '^1',
    async setup(ctx) {
      await ctx.data.migrate({
        '001_init': {
          async up(d) {
            await d.schema
              .createTable('counter_hits')
              .addColumn('sender', 'text', (c) => c.primaryKey())
              .addColumn('n', 'integer', (c) => c.notNull())
              .execute();
          },
        },
      });
      db = ctx.data.db;
      ctx.hook('mail', async (tx) => {
        await ctx.data.db
          .insertInto('counter_hits')
          .values({ sender: tx.from, n: 1 })
          .onConflict((oc) => oc.column('sender').doUpdateSet((eb) => ({ n: eb('counter_hits.n', '+', 1) })))
          .execute();
        return verdict.next();
      });
    },
  });
  const first = await startTestSmarthold({ plugins: [counter], config: { plugins: ['counter'] } });
  await first.send('a@example.org', ['b@example.net'], 'Subject: 1\r\n\r\nx\r\n');
  await first.stop({ keepDir: true });
  const second = await startTestSmarthold({
    plugins: [counter],
    config: { plugins: ['counter'] },
    dir: first.dir,
  });
  try {
    await second.send('a@example.org', ['b@example.net'], 'Subject: 2\r\n\r\nx\r\n');
    assert.deepEqual(await db?.selectFrom('counter_hits').selectAll().executeTakeFirst(), {
      sender: 'a@example.org',
      n: 2,
    });
  } finally {
    await second.stop();
    rmSync(first.dir, { recursive: true, force: true });
  }
});
