/**
 * worker.test.ts — the scanner in worker threads (pool.ts, worker.ts): the
 * same verdicts as in-process, learning that reaches every worker and writes
 * the layer file once, faults that reject pending scans with
 * ScannerUnavailableError and a fresh worker for the next scan, no worker
 * keeping the process alive, workers that start whatever Node options the
 * process has, and a worker heap kept small.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { GTUBE as CORE_GTUBE, type ScanVerdict } from '@smarthold/core';
import { DEFAULT_THRESHOLD } from './config.js';
import { createBayesScanner, LOCAL_MODEL_FILE, SHIPPED_MODEL } from './index.js';
import { startBayesWorkers, type BayesWorkerScanner, type WorkerPoolOptions } from './pool.js';
import { GTUBE } from './rules.js';
import { GTUBE_MESSAGE, HAM, NEWSLETTER, SPAM, scanMessage } from './test-messages.js';

const BASE64_GTUBE = `Subject: t\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n${Buffer.from(
  GTUBE_MESSAGE.split('\n\n').slice(1).join('\n\n'),
).toString('base64')}\n`;
const MALFORMED = Buffer.from(
  'Content-Type: multipart/mixed\nContent-Transfer-Encoding: base64\n\n--x\n=?zz?Q?broken\x00\xff\n',
  'latin1',
);
const LONG = HAM + 'filler text line\n'.repeat(1000);
const FIXTURES: Record<string, string | Buffer> = {
  ham: HAM,
  spam: SPAM,
  gtube: GTUBE_MESSAGE,
  base64Gtube: BASE64_GTUBE,
  newsletter: NEWSLETTER,
  malformed: MALFORMED,
  long: LONG,
  empty: '',
};

/** A message that makes a worker started with `faults` fail in the given way. */
const faulty = (kind: 'throw' | 'exit' | 'crash' | 'hang'): string => `X-Bayes-Test-Fault: ${kind}\n${HAM}`;

const pools: BayesWorkerScanner[] = [];
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

async function pool(opts: Partial<WorkerPoolOptions> = {}): Promise<BayesWorkerScanner> {
  const p = await startBayesWorkers({
    workers: 1,
    threshold: DEFAULT_THRESHOLD,
    maxScanBytes: 1 << 20,
    modelPath: SHIPPED_MODEL,
    ...opts,
  });
  pools.push(p);
  return p;
}

function withoutDuration(v: ScanVerdict): Omit<ScanVerdict, 'durationMs'> {
  const { durationMs, ...rest } = v;
  assert.equal(typeof durationMs, 'number');
  return rest;
}

describe('the worker scanner', () => {
  it('gives the in-process verdicts (spam, ham, GTUBE, malformed, truncated)', async () => {
    for (const maxScanBytes of [1 << 20, 2048]) {
      const inProcess = await createBayesScanner({ threshold: DEFAULT_THRESHOLD, maxScanBytes });
      const workers = await pool({ maxScanBytes, workers: 2 });
      for (const [name, raw] of Object.entries(FIXTURES)) {
        const expected = withoutDuration(await inProcess.scan(scanMessage(raw)));
        assert.deepEqual(withoutDuration(await workers.scan(scanMessage(raw))), expected, name);
      }
      // Several at once, spread over both workers.
      const names = Object.keys(FIXTURES);
      const verdicts = await Promise.all(
        names.flatMap((name) => [1, 2, 3].map(() => workers.scan(scanMessage(FIXTURES[name] ?? '')))),
      );
      for (const [i, v] of verdicts.entries()) {
        const name = names[Math.floor(i / 3)] ?? '';
        assert.deepEqual(
          withoutDuration(v),
          withoutDuration(await inProcess.scan(scanMessage(FIXTURES[name] ?? ''))),
        );
      }
    }
    const truncated = await (await pool({ maxScanBytes: 2048 })).scan(scanMessage(LONG));
    assert.ok(truncated.rules.some((r) => r.name === 'SCAN_TRUNCATED'));
    const malformed = await (await pool()).scan(scanMessage(MALFORMED));
    assert.ok(malformed.rules.some((r) => r.name === 'MIME_MALFORMED'));
  });

  it('reads the message once and leaves its bytes alone (they are copied before the transfer)', async () => {
    const workers = await pool();
    const raw = Buffer.from(SPAM);
    const copy = Buffer.from(raw);
    const message = scanMessage(raw);
    await workers.scan(message);
    await workers.scan(message);
    assert.equal(message.opened, 2);
    assert.deepEqual(raw, copy);
    assert.equal(raw.buffer.byteLength > 0, true, 'not detached');
  });

  it('turns a failing message stream into ScannerUnavailableError', async () => {
    const workers = await pool();
    const failing = {
      size: 1,
      openMessage: () => {
        throw new Error('spool gone');
      },
    };
    await assert.rejects(workers.scan(failing), { code: 'SMARTHOLD_SCANNER_UNAVAILABLE' });
  });

  it('learning reaches every worker, is saved once, and survives a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bayes-worker-learn-'));
    const refDir = await mkdtemp(join(tmpdir(), 'bayes-worker-ref-'));
    try {
      const localPath = join(dataDir, LOCAL_MODEL_FILE);
      const workers = await pool({ workers: 2, localPath });
      const reference = await createBayesScanner({
        threshold: DEFAULT_THRESHOLD,
        maxScanBytes: 1 << 20,
        dataDir: refDir,
      });
      const before = await workers.scan(scanMessage(NEWSLETTER));
      assert.equal(before.isSpam, true, 'the shipped model flags this newsletter');
      await workers.learn(scanMessage(NEWSLETTER), 'ham');
      await reference.learn(scanMessage(NEWSLETTER), 'ham');
      // Two scans at once go to both workers: each has learnt.
      const both = await Promise.all([
        workers.scan(scanMessage(NEWSLETTER)),
        workers.scan(scanMessage(NEWSLETTER)),
      ]);
      const expected = withoutDuration(await reference.scan(scanMessage(NEWSLETTER)));
      for (const v of both) {
        assert.ok(v.score < before.score, `before ${before.score}, after ${v.score}`);
        assert.deepEqual(withoutDuration(v), expected);
      }
      assert.deepEqual(workers.messageCounts, reference.messageCounts);
      await workers.learn(scanMessage(NEWSLETTER), 'ham');
      await workers.learn(scanMessage(HAM), 'spam');
      assert.deepEqual(await readdir(dataDir), [LOCAL_MODEL_FILE], 'one file, no temp files');
      const saved = JSON.parse(await readFile(localPath, 'utf8')) as { nham: number; nspam: number };
      assert.deepEqual([saved.nham, saved.nspam], [2, 1]);
      const after = withoutDuration(await workers.scan(scanMessage(NEWSLETTER)));
      assert.equal(after.isSpam, false);
      // A worker killed now restarts from the saved file: same verdict, nothing learnt twice.
      await workers.workerThread(1)?.terminate();
      const again = await Promise.all([
        workers.scan(scanMessage(NEWSLETTER)),
        workers.scan(scanMessage(NEWSLETTER)),
      ]);
      for (const v of again) assert.deepEqual(withoutDuration(v), after);
      const reloaded = await pool({ localPath });
      assert.deepEqual(withoutDuration(await reloaded.scan(scanMessage(NEWSLETTER))), after);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(refDir, { recursive: true, force: true });
    }
  });

  it('has no learn when learning is off', async () => {
    const workers = await pool();
    await assert.rejects(workers.learn(scanMessage(HAM), 'ham'), /learning is disabled/);
  });

  it('a scan that throws in the worker rejects alone; the worker carries on', async () => {
    const workers = await pool({ faults: true });
    const thread = workers.workerThread(0);
    const [bad, good] = await Promise.allSettled([
      workers.scan(scanMessage(faulty('throw'))),
      workers.scan(scanMessage(HAM)),
    ]);
    assert.equal(bad.status, 'rejected');
    assert.equal((bad.reason as { code?: string }).code, 'SMARTHOLD_SCANNER_UNAVAILABLE');
    assert.match((bad.reason as Error).message, /injected fault/);
    assert.equal(good.status, 'fulfilled');
    assert.equal(workers.workerThread(0), thread, 'same worker');
  });

  for (const kind of ['exit', 'crash'] as const) {
    it(`a worker that dies (${kind}) fails its pending scans with ScannerUnavailableError; the next scan gets a fresh worker`, async () => {
      const workers = await pool({ faults: true });
      const expected = withoutDuration(await workers.scan(scanMessage(HAM)));
      const thread = workers.workerThread(0);
      const results = await Promise.allSettled([
        workers.scan(scanMessage(HAM)),
        workers.scan(scanMessage(faulty(kind))),
        workers.scan(scanMessage(HAM)),
        workers.scan(scanMessage(SPAM)),
      ]);
      assert.equal(results[1]?.status, 'rejected', 'the message that killed the worker');
      for (const r of results) {
        if (r.status === 'rejected') {
          assert.equal(
            (r.reason as { code?: string }).code,
            'SMARTHOLD_SCANNER_UNAVAILABLE',
            String(r.reason),
          );
          assert.match((r.reason as Error).message, /^bayes: the scanning worker (exited|failed)/);
        } else assert.ok(r.value.score >= 0);
      }
      assert.deepEqual(withoutDuration(await workers.scan(scanMessage(HAM))), expected);
      assert.notEqual(workers.workerThread(0), thread, 'a fresh worker');
    });
  }

  it('a worker terminated with a scan in flight fails it; the next scan succeeds', async () => {
    const workers = await pool({ faults: true });
    const thread = workers.workerThread(0);
    assert.ok(thread);
    const pending = workers.scan(scanMessage(faulty('hang')));
    // Read and sent before this one, which comes back from the same worker.
    await workers.scan(scanMessage(HAM));
    await thread.terminate();
    await assert.rejects(pending, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SMARTHOLD_SCANNER_UNAVAILABLE');
      assert.match(err.message, /bayes: the scanning worker exited/);
      return true;
    });
    assert.equal((await workers.scan(scanMessage(SPAM))).isSpam, true);
    assert.notEqual(workers.workerThread(0), thread);
  });

  it('a worker stuck on a message is replaced after stallMs; its scans fail, the next one succeeds', async () => {
    const workers = await pool({ faults: true, stallMs: 300 });
    const thread = workers.workerThread(0);
    const started = Date.now();
    await assert.rejects(workers.scan(scanMessage(faulty('hang'))), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SMARTHOLD_SCANNER_UNAVAILABLE');
      assert.match(err.message, /answered nothing for \d+\.\d s with scans in flight/);
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'within a few watchdog periods');
    assert.equal((await workers.scan(scanMessage(SPAM))).isSpam, true);
    assert.notEqual(workers.workerThread(0), thread, 'a fresh worker');
  });

  it('a busy worker that keeps answering is not taken for stuck', async () => {
    const workers = await pool({ stallMs: 300 });
    const thread = workers.workerThread(0);
    for (let i = 0; i < 10; i++) {
      await Promise.all(Array.from({ length: 5 }, () => workers.scan(scanMessage(HAM))));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(workers.workerThread(0), thread, 'the same worker');
  });

  it('a closed scanner rejects scans with ScannerUnavailableError', async () => {
    const workers = await pool();
    await workers.close();
    await assert.rejects(workers.scan(scanMessage(HAM)), { code: 'SMARTHOLD_SCANNER_UNAVAILABLE' });
    assert.equal(workers.workerThread(0), undefined);
  });

  it('idle workers do not keep the process alive', () => {
    const pool = new URL('./pool.js', import.meta.url).href;
    const messages = new URL('./test-messages.js', import.meta.url).href;
    const script = `
      import { startBayesWorkers } from ${JSON.stringify(pool)};
      import { SPAM, scanMessage } from ${JSON.stringify(messages)};
      const s = await startBayesWorkers({ workers: 2, threshold: 99, maxScanBytes: 1 << 20, modelPath: ${JSON.stringify(SHIPPED_MODEL)} });
      console.log((await s.scan(scanMessage(SPAM))).isSpam);
      // no close(): the process must still end
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.error, undefined, 'exited by itself');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true');
  });

  it('starts its workers in a process run with V8 options, with or without --input-type', async () => {
    const pool = new URL('./pool.js', import.meta.url).href;
    const messages = new URL('./test-messages.js', import.meta.url).href;
    const script = `
      import { startBayesWorkers } from ${JSON.stringify(pool)};
      import { SPAM, scanMessage } from ${JSON.stringify(messages)};
      const s = await startBayesWorkers({ workers: 1, threshold: 99, maxScanBytes: 1 << 20, modelPath: ${JSON.stringify(SHIPPED_MODEL)} });
      console.log((await s.scan(scanMessage(SPAM))).isSpam);
      await s.close();
    `;
    const dir = await mkdtemp(join(tmpdir(), 'bayes-argv-'));
    try {
      const file = join(dir, 'start.mjs');
      await writeFile(file, script);
      const v8Options = ['--max-old-space-size=300', '--expose-gc'];
      for (const args of [
        [...v8Options, file],
        [...v8Options, '--input-type=module', '-e', script],
        ['--enable-source-maps', '--input-type=module', '-e', script],
      ]) {
        const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, `${args.slice(0, 3).join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout.trim(), 'true');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('caps the young generation of its workers', async () => {
    const workers = await pool();
    assert.equal(workers.workerThread(0)?.resourceLimits?.maxYoungGenerationSizeMb, 16);
  });

  it('the worker thread loads neither @smarthold/core nor zod, and keeps GTUBE in step with core', async () => {
    assert.equal(GTUBE, CORE_GTUBE);
    const dist = dirname(fileURLToPath(import.meta.url));
    const seen = new Set<string>();
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
        const spec = m[1] ?? '';
        assert.ok(!spec.startsWith('@smarthold/'), `${file} imports ${spec}`);
        // zod (~3 MB of heap) is only loaded to word the error of a bad model header.
        assert.notEqual(spec, 'zod', `${file} imports zod`);
        if (spec.startsWith('.')) await visit(join(dirname(file), spec));
      }
    };
    await visit(join(dist, 'worker.js'));
    assert.ok(seen.size > 5, [...seen].join(', '));
  });
});
