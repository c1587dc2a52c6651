/**
 * counters.test.ts — the counter store on each database smarthold offers
 * plugins: the local SQLite file, PostgreSQL and MySQL/MariaDB (a fresh
 * database each; skipped without the server, failing under
 * SMARTHOLD_TEST_REQUIRE). The migrations run through the host's
 * ctx.data, as in production; then increments (also concurrent ones, which
 * must each get their own count), reads and pruning.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createMysqlTestDatabase,
  createPgTestDatabase,
  definePlugin,
  type Kysely,
  needMysql,
  needPostgres,
  type PluginData,
  startTestSmarthold,
  type TestSmarthold,
} from '@smarthold/core';
import { type CounterStore, type ForwardLimitTables, kyselyCounters, migrationsFor } from './counters.js';

const DIALECTS: readonly PluginData['dialect'][] = ['sqlite', 'postgres', 'mysql'];

for (const dialect of DIALECTS) {
  describe(`forward-limit counters (${dialect})`, () => {
    let skip: false | string = false;
    let t: TestSmarthold | undefined;
    let drop: () => Promise<void> = () => Promise.resolve();
    let store: CounterStore | undefined;
    before(async () => {
      skip = dialect === 'postgres' ? await needPostgres() : dialect === 'mysql' ? await needMysql() : false;
      if (skip) return;
      const fresh =
        dialect === 'postgres'
          ? await createPgTestDatabase()
          : dialect === 'mysql'
            ? await createMysqlTestDatabase()
            : undefined;
      if (fresh) drop = () => fresh.drop();
      // A plugin that only migrates the counters' table and hands over its database.
      const holder = definePlugin({
        name: 'forward-limit-counters',
        version: '0.0.0',
        core: '^1',
        async setup(ctx) {
          assert.equal(ctx.data.dialect, dialect);
          await ctx.data.migrate(migrationsFor(ctx.data.dialect));
          store = kyselyCounters(ctx.data.db as Kysely<ForwardLimitTables>, ctx.data.dialect);
        },
      });
      t = await startTestSmarthold({
        plugins: [holder],
        config: { plugins: ['forward-limit-counters'], ...(fresh ? { store: { database: fresh.url } } : {}) },
      });
    });
    after(async () => {
      await t?.stop();
      await drop();
    });
    const s = (): CounterStore => store ?? assert.fail('no store');

    test('increments count per mailbox and window, reads and prunes', async (c) => {
      if (skip) {
        c.skip(skip);
        return;
      }
      const big = 2 ** 41; // milliseconds since the epoch are past int4
      assert.deepEqual(
        [
          await s().increment('a@isp.example', big),
          await s().increment('a@isp.example', big),
          await s().increment('a@isp.example', big + 1),
          await s().increment('b@isp.example', big),
          await s().increment('a@isp.example', big),
        ],
        [1, 2, 1, 1, 3],
      );
      assert.equal(await s().count('a@isp.example', big), 3);
      assert.equal(await s().count('c@isp.example', big), 0);
      const rows = (await s().since(big)).sort((x, y) =>
        `${x.mailbox}${String(x.windowStart)}`.localeCompare(`${y.mailbox}${String(y.windowStart)}`),
      );
      assert.deepEqual(rows, [
        { mailbox: 'a@isp.example', windowStart: big, count: 3 },
        { mailbox: 'a@isp.example', windowStart: big + 1, count: 1 },
        { mailbox: 'b@isp.example', windowStart: big, count: 1 },
      ]);
      assert.equal(await s().deleteBefore(big + 1), 2);
      assert.deepEqual(await s().since(0), [{ mailbox: 'a@isp.example', windowStart: big + 1, count: 1 }]);
    });

    test('concurrent increments each get their own count', async (c) => {
      if (skip) {
        c.skip(skip);
        return;
      }
      const got = await Promise.all(Array.from({ length: 20 }, () => s().increment('busy@isp.example', 7)));
      assert.deepEqual(
        got.sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });
  });
}
