/**
 * index.test.ts — the plugin manifest: config defaults and validation, setup
 * providing the spam-scanner service (in worker threads by default, in-process
 * with workers = 0), learn = false hiding learn(), onClose stopping the workers,
 * and a broken model file failing set-up.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { PluginContext, SpamScanner } from '@smarthold/core';
import plugin, { configSchema } from './index.js';
import { DEFAULT_MAX_SCAN_BYTES, DEFAULT_THRESHOLD, DEFAULT_WORKERS, type BayesConfig } from './config.js';
import { BayesWorkerScanner } from './pool.js';
import { BayesScanner } from './scanner.js';
import { HAM, SPAM, scanMessage } from './test-messages.js';

it('config has defaults and rejects nonsense', () => {
  assert.deepEqual(configSchema.parse({}), {
    threshold: DEFAULT_THRESHOLD,
    learn: true,
    max_scan_bytes: DEFAULT_MAX_SCAN_BYTES,
    workers: DEFAULT_WORKERS,
  });
  assert.equal(DEFAULT_WORKERS, 1);
  assert.equal(configSchema.safeParse({ threshold: -1 }).success, false);
  assert.equal(configSchema.safeParse({ max_scan_bytes: 10 }).success, false);
  assert.equal(configSchema.safeParse({ workers: -1 }).success, false);
  assert.equal(configSchema.safeParse({ workers: 1.5 }).success, false);
  assert.equal(configSchema.parse({ workers: 0 }).workers, 0);
});

interface SetUp {
  readonly provided: Map<string, unknown>;
  /** Runs the close functions registered with ctx.onClose, as the host does at shutdown. */
  readonly close: () => Promise<void>;
}

async function setUp(config: BayesConfig): Promise<SetUp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bayes-plugin-'));
  const provided = new Map<string, unknown>();
  const closers: (() => Promise<void> | void)[] = [];
  const log = {
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    debug: () => undefined,
  };
  const ctx = {
    name: 'bayes',
    config,
    log,
    dataDir,
    provide: (name: string, impl: unknown) => provided.set(name, impl),
    onClose: (fn: () => Promise<void> | void) => closers.push(fn),
  } as unknown as PluginContext<BayesConfig>;
  try {
    await plugin.setup(ctx);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    provided,
    close: async () => {
      for (const fn of closers.reverse()) await fn();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

it('setup provides a working spam-scanner that can learn, in a worker, stopped by onClose', async () => {
  assert.equal(plugin.name, 'bayes');
  assert.deepEqual(plugin.provides, ['spam-scanner']);
  const { provided, close } = await setUp(configSchema.parse({}));
  let scanner: SpamScanner | undefined;
  try {
    scanner = provided.get('spam-scanner') as SpamScanner;
    assert.ok(scanner instanceof BayesWorkerScanner, 'workers = 1 by default');
    assert.equal(scanner.name, 'bayes');
    assert.equal(typeof scanner.learn, 'function');
    assert.equal((await scanner.scan(scanMessage(HAM))).isSpam, false);
    assert.equal((await scanner.scan(scanMessage(SPAM))).isSpam, true);
  } finally {
    await close();
  }
  await assert.rejects(scanner.scan(scanMessage(HAM)), { code: 'SMARTHOLD_SCANNER_UNAVAILABLE' });
});

it('workers = 0 scans in-process, with the same verdicts', async () => {
  const inProcess = await setUp(configSchema.parse({ workers: 0 }));
  const inWorker = await setUp(configSchema.parse({}));
  try {
    const a = inProcess.provided.get('spam-scanner') as SpamScanner;
    const b = inWorker.provided.get('spam-scanner') as SpamScanner;
    assert.ok(a instanceof BayesScanner);
    for (const raw of [HAM, SPAM]) {
      const { durationMs: _a, ...va } = await a.scan(scanMessage(raw));
      const { durationMs: _b, ...vb } = await b.scan(scanMessage(raw));
      assert.deepEqual(vb, va);
    }
  } finally {
    await inProcess.close();
    await inWorker.close();
  }
});

it('learn = false provides a scanner without learn()', async () => {
  for (const workers of [0, 2]) {
    const { provided, close } = await setUp(configSchema.parse({ learn: false, threshold: 50, workers }));
    try {
      const scanner = provided.get('spam-scanner') as SpamScanner;
      assert.equal(typeof scanner.learn, 'undefined');
      assert.equal((await scanner.scan(scanMessage(HAM))).threshold, 50);
    } finally {
      await close();
    }
  }
});

it('a broken model file fails set-up with an error naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bayes-model-'));
  try {
    const model = join(dir, 'model.json');
    await writeFile(
      model,
      JSON.stringify({ format: 'smarthold-bayes/1', nspam: 1, nham: 1, tokens: { a: [1] } }),
    );
    for (const workers of [0, 1]) {
      await assert.rejects(setUp(configSchema.parse({ model, workers })), (err: Error) => {
        assert.match(err.message, /model\.json: not a smarthold-bayes\/1 model: token "a" has bad counts/);
        return true;
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
