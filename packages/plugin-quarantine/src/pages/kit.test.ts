/**
 * kit.test.ts — background work after an answer: a failure is tried again
 * after each delay, given up after the last with an error in the log, and
 * given up at once when the pages close.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { Background } from './kit.js';

/** A logger that keeps the messages of warn() and error(). */
function recordingLog(): { log: FastifyBaseLogger; warned: string[]; failed: string[] } {
  const warned: string[] = [];
  const failed: string[] = [];
  const log = {
    warn: (_obj: unknown, msg: string) => warned.push(msg),
    error: (_obj: unknown, msg: string) => failed.push(msg),
  } as unknown as FastifyBaseLogger;
  return { log, warned, failed };
}

/** Work that fails its first `failures` calls, counting every call. */
function flaky(failures: number): { work: () => Promise<void>; calls: () => number } {
  let n = 0;
  return {
    work: () => {
      n++;
      return n <= failures ? Promise.reject(new Error(`refused (${String(n)})`)) : Promise.resolve();
    },
    calls: () => n,
  };
}

test('a failure is tried again after each delay, and success ends it quietly', async () => {
  const bg = new Background([5, 5, 5]);
  const { log, warned, failed } = recordingLog();
  const job = flaky(2);
  bg.run(log, 'access link', job.work);
  await bg.drain();
  assert.equal(job.calls(), 3);
  assert.deepEqual(warned, [
    'pages: access link failed; trying again',
    'pages: access link failed; trying again',
  ]);
  assert.deepEqual(failed, []);
});

test('after the last delay the work is given up, with an error in the log', async () => {
  const bg = new Background([5, 5]);
  const { log, warned, failed } = recordingLog();
  const job = flaky(Infinity);
  bg.run(log, 'redirect confirmation', job.work);
  await bg.drain();
  assert.equal(job.calls(), 3);
  assert.equal(warned.length, 2);
  assert.deepEqual(failed, ['pages: redirect confirmation failed; given up']);
});

test('close() gives up work waiting for a retry at once, without another attempt', async () => {
  const bg = new Background([60_000]);
  const { log, failed } = recordingLog();
  const job = flaky(Infinity);
  bg.run(log, 'access link', job.work);
  await new Promise((r) => setImmediate(r));
  const started = Date.now();
  await bg.close();
  assert.ok(Date.now() - started < 1_000, 'close did not wait for the retry delay');
  assert.equal(job.calls(), 1);
  assert.deepEqual(failed, ['pages: access link failed; given up (stopping)']);
});

test('work that throws before returning a promise is caught like a rejection', async () => {
  const bg = new Background([]);
  const { log, failed } = recordingLog();
  bg.run(log, 'access link', () => {
    throw new Error('synchronous');
  });
  await bg.drain();
  assert.deepEqual(failed, ['pages: access link failed; given up']);
});
