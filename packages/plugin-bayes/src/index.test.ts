/**
 * index.test.ts — the plugin manifest: config defaults and validation, setup
 * providing the spam-scanner service, and learn = false hiding learn().
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { PluginContext, SpamScanner } from '@smarthold/core';
import plugin, { configSchema } from './index.js';
import { DEFAULT_MAX_SCAN_BYTES, DEFAULT_THRESHOLD, type BayesConfig } from './config.js';
import { HAM, scanMessage } from './test-messages.js';

it('config has defaults and rejects nonsense', () => {
  assert.deepEqual(configSchema.parse({}), {
    threshold: DEFAULT_THRESHOLD,
    learn: true,
    max_scan_bytes: DEFAULT_MAX_SCAN_BYTES,
  });
  assert.equal(configSchema.safeParse({ threshold: -1 }).success, false);
  assert.equal(configSchema.safeParse({ max_scan_bytes: 10 }).success, false);
});

async function setUp(config: BayesConfig): Promise<{ provided: Map<string, unknown>; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bayes-plugin-'));
  const provided = new Map<string, unknown>();
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
  } as unknown as PluginContext<BayesConfig>;
  await plugin.setup(ctx);
  return { provided, dataDir };
}

it('setup provides a working spam-scanner that can learn', async () => {
  assert.equal(plugin.name, 'bayes');
  assert.deepEqual(plugin.provides, ['spam-scanner']);
  const { provided, dataDir } = await setUp(configSchema.parse({}));
  try {
    const scanner = provided.get('spam-scanner') as SpamScanner;
    assert.equal(scanner.name, 'bayes');
    assert.equal(typeof scanner.learn, 'function');
    assert.equal((await scanner.scan(scanMessage(HAM))).isSpam, false);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

it('learn = false provides a scanner without learn()', async () => {
  const { provided, dataDir } = await setUp(configSchema.parse({ learn: false, threshold: 50 }));
  try {
    const scanner = provided.get('spam-scanner') as SpamScanner;
    assert.equal(typeof scanner.learn, 'undefined');
    assert.equal((await scanner.scan(scanMessage(HAM))).threshold, 50);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
