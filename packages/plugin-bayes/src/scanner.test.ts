/**
 * scanner.test.ts — the scanner end to end on the shipped model: GTUBE,
 * a ham and a spam message, read-only behaviour, truncation and learning.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createBayesScanner, LOCAL_MODEL_FILE } from './index.js';
import { DEFAULT_THRESHOLD } from './config.js';
import { GTUBE_MESSAGE, HAM, NEWSLETTER, SPAM, scanMessage } from './test-messages.js';

const scanner = await createBayesScanner({ threshold: DEFAULT_THRESHOLD, maxScanBytes: 1 << 20 });

describe('BayesScanner.scan', () => {
  it('flags GTUBE as spam with a huge score', async () => {
    const v = await scanner.scan(scanMessage(GTUBE_MESSAGE));
    assert.equal(v.isSpam, true);
    assert.ok(v.score >= 1000);
    assert.ok(v.rules.some((r) => r.name === 'GTUBE' && r.score === 1000));
  });

  it('finds GTUBE inside a base64 body too', async () => {
    const body = Buffer.from(GTUBE_MESSAGE.split('\n\n').slice(1).join('\n\n')).toString('base64');
    const v = await scanner.scan(
      scanMessage(`Subject: t\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n${body}\n`),
    );
    assert.ok(v.rules.some((r) => r.name === 'GTUBE'));
  });

  it('does not flag a normal ham message', async () => {
    const v = await scanner.scan(scanMessage(HAM));
    assert.equal(v.isSpam, false);
    assert.ok(v.score < 50, `score ${v.score}`);
    assert.equal(v.scanner, 'bayes');
    assert.equal(v.threshold, DEFAULT_THRESHOLD);
    assert.ok(v.rules.some((r) => r.name === 'BAYES_SPAM_PROB'));
    assert.ok(!v.rules.some((r) => r.name === 'GTUBE'));
  });

  it('flags an obvious spam message', async () => {
    const v = await scanner.scan(scanMessage(SPAM));
    assert.equal(v.isSpam, true, `score ${v.score}`);
  });

  it('only reads the message: bytes unchanged, one stream opened, nothing written', async () => {
    const raw = Buffer.from(SPAM);
    const copy = Buffer.from(raw);
    const message = Object.freeze({
      size: raw.length,
      openMessage: () => {
        const stream = Readable.from([raw]);
        // A scanner must never write: make any attempt loud.
        Object.defineProperty(stream, 'push', { value: stream.push.bind(stream), writable: false });
        return stream;
      },
    });
    const v = await scanner.scan(message);
    assert.ok(v.score >= 0);
    assert.deepEqual(raw, copy);
    const counted = scanMessage(SPAM);
    await scanner.scan(counted);
    assert.equal(counted.opened, 1);
  });

  it('reads at most max_scan_bytes and says so', async () => {
    const small = await createBayesScanner({ threshold: DEFAULT_THRESHOLD, maxScanBytes: 2048 });
    const v = await small.scan(scanMessage(HAM + 'filler text line\n'.repeat(1000)));
    assert.ok(v.rules.some((r) => r.name === 'SCAN_TRUNCATED'));
  });

  it('never throws on broken MIME', async () => {
    const broken =
      'Content-Type: multipart/mixed\nContent-Transfer-Encoding: base64\n\n--x\n=?zz?Q?broken\x00\xff\n';
    const v = await scanner.scan(scanMessage(Buffer.from(broken, 'latin1')));
    assert.equal(typeof v.score, 'number');
    assert.ok(v.rules.some((r) => r.name === 'MIME_MALFORMED'));
  });

  it('turns a failing message stream into ScannerUnavailableError', async () => {
    const failing = {
      size: 1,
      openMessage: () =>
        new Readable({
          read() {
            this.destroy(new Error('spool gone'));
          },
        }),
    };
    await assert.rejects(scanner.scan(failing), { code: 'SMARTHOLD_SCANNER_UNAVAILABLE' });
  });
});

describe('BayesScanner.learn', () => {
  it('lowers the score of a message learnt as ham and persists the layer atomically', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bayes-learn-'));
    try {
      const learner = await createBayesScanner({
        threshold: DEFAULT_THRESHOLD,
        maxScanBytes: 1 << 20,
        dataDir,
      });
      const before = await learner.scan(scanMessage(NEWSLETTER));
      assert.equal(before.isSpam, true, 'the shipped model flags this newsletter');
      await learner.learn(scanMessage(NEWSLETTER), 'ham');
      const once = await learner.scan(scanMessage(NEWSLETTER));
      assert.ok(once.score < before.score, `before ${before.score}, after ${once.score}`);
      await learner.learn(scanMessage(NEWSLETTER), 'ham');
      const after = await learner.scan(scanMessage(NEWSLETTER));
      assert.ok(after.score < once.score && !after.isSpam, `once ${once.score}, twice ${after.score}`);
      const files = await readdir(dataDir);
      assert.deepEqual(files, [LOCAL_MODEL_FILE], 'no temp files left behind');
      const saved = JSON.parse(await readFile(join(dataDir, LOCAL_MODEL_FILE), 'utf8')) as {
        nham: number;
        nspam: number;
      };
      assert.equal(saved.nham, 2);
      assert.equal(saved.nspam, 0);
      const reloaded = await createBayesScanner({
        threshold: DEFAULT_THRESHOLD,
        maxScanBytes: 1 << 20,
        dataDir,
      });
      assert.equal((await reloaded.scan(scanMessage(NEWSLETTER))).score, after.score);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('raises the score of a message learnt as spam', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bayes-learn-'));
    try {
      const learner = await createBayesScanner({
        threshold: DEFAULT_THRESHOLD,
        maxScanBytes: 1 << 20,
        dataDir,
      });
      const before = await learner.scan(scanMessage(HAM));
      await learner.learn(scanMessage(HAM), 'spam');
      const after = await learner.scan(scanMessage(HAM));
      assert.ok(after.score > before.score, `before ${before.score}, after ${after.score}`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
