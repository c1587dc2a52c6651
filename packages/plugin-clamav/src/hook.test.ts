/**
 * hook.test.ts — the data hook's verdicts for each scan outcome and each
 * on_oversize, with a stub scanner.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import {
  createLogger,
  type Json,
  type MessageTransaction,
  type MessageVerdict,
  ScannerUnavailableError,
  silentLogger,
} from '@smarthold/core';
import type { OversizePolicy } from './config.js';
import { createDataHook, replySafe } from './hook.js';
import type { VirusScanner, VirusVerdict } from './scanner.js';

function tx(): { tx: MessageTransaction; results: Map<string, Json> } {
  const results = new Map<string, Json>();
  const t = {
    queueId: 'Q1',
    from: 'alice@example.com',
    to: ['bob@example.org'],
    size: 3,
    session: { remoteAddress: '127.0.0.1' },
    openMessage: () => Readable.from([Buffer.from('abc')]),
    results: {
      set: (k: string, v: Json) => results.set(k, v),
      get: () => undefined,
      all: () => [],
    },
  } as unknown as MessageTransaction;
  return { tx: t, results };
}

const stub = (answer: () => VirusVerdict): VirusScanner => ({
  name: 'clamav',
  scan: () => Promise.resolve(answer()),
});
const base: VirusVerdict = { scanner: 'clamav', infected: false, viruses: [], durationMs: 1 };

async function run(
  answer: () => VirusVerdict,
  config: { action: 'reject' | 'hold' | 'none'; on_failure: 'tempfail' | 'pass' | 'hold' },
): Promise<{ v: MessageVerdict; results: Map<string, Json> }> {
  const { tx: t, results } = tx();
  const v = await createDataHook({ scanner: stub(answer), config, log: silentLogger() })(t);
  return { v, results };
}

test('infected: reject 554 5.7.1 naming the signatures, or hold', async () => {
  const infected = (): VirusVerdict => ({ ...base, infected: true, viruses: ['A.B', 'C.D'], server: 'x:1' });
  const r = await run(infected, { action: 'reject', on_failure: 'tempfail' });
  assert.deepEqual(r.v, {
    kind: 'reject',
    code: 554,
    enhanced: '5.7.1',
    text: 'Message rejected: virus found (A.B, C.D)',
  });
  assert.deepEqual((r.results.get('verdict') as Record<string, Json>)['viruses'], ['A.B', 'C.D']);
  const h = await run(infected, { action: 'hold', on_failure: 'tempfail' });
  assert.deepEqual(h.v, { kind: 'hold', reason: 'virus: A.B, C.D' });
});

test('clean and skipped: continue, with the verdict recorded', async () => {
  const c = await run(() => base, { action: 'reject', on_failure: 'tempfail' });
  assert.deepEqual(c.v, { kind: 'continue' });
  const s = await run(() => ({ ...base, skipped: 'not scanned: 9 octets is over max_size 1' }), {
    action: 'reject',
    on_failure: 'tempfail',
  });
  assert.deepEqual(s.v, { kind: 'continue' });
  const skipped = (s.results.get('verdict') as Record<string, Json>)['skipped'];
  assert.match(typeof skipped === 'string' ? skipped : '', /over max_size/);
});

test('failed scan: 451 under tempfail, hold under hold, continue under pass', async () => {
  const t = await run(
    () => {
      throw new ScannerUnavailableError('clamav', 'no clamd answered');
    },
    { action: 'reject', on_failure: 'tempfail' },
  );
  assert.deepEqual(t.v, {
    kind: 'tempfail',
    code: 451,
    enhanced: '4.3.0',
    text: 'Virus scan not available, try again later',
  });
  const failed = (): VirusVerdict => ({
    ...base,
    failure: 'down (policy x)',
    code: 'SMARTHOLD_CLAMAV_CONNECT',
  });
  const h = await run(failed, { action: 'reject', on_failure: 'hold' });
  assert.equal(h.v.kind, 'hold');
  const p = await run(failed, { action: 'reject', on_failure: 'pass' });
  assert.deepEqual(p.v, { kind: 'continue' });
});

test('over max_size: each on_oversize gives its verdict, recorded with the verdict and logged at info', async () => {
  const skipped = (): VirusVerdict => ({ ...base, skipped: 'not scanned: 3 octets is over max_size 1' });
  const expected: Record<OversizePolicy, MessageVerdict> = {
    pass: { kind: 'continue' },
    hold: { kind: 'hold', reason: 'clamav: not scanned: 3 octets is over max_size 1' },
    tempfail: {
      kind: 'tempfail',
      code: 451,
      enhanced: '4.3.0',
      text: 'Message too big for the virus scan, try again later',
    },
    reject: {
      kind: 'reject',
      code: 552,
      enhanced: '5.3.4',
      text: 'Message too big for the virus scan (limit 1 octets)',
    },
  };
  for (const [policy, want] of Object.entries(expected) as [OversizePolicy, MessageVerdict][]) {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({
      level: 'info',
      destination: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) },
    });
    const { tx: t, results } = tx();
    const config = { action: 'reject', on_failure: 'tempfail', on_oversize: policy, max_size: 1 } as const;
    const v = await createDataHook({ scanner: stub(skipped), config, log })(t);
    assert.deepEqual(v, want, policy);
    const rec = results.get('verdict') as Record<string, Json>;
    assert.equal(rec['on_oversize'], policy);
    assert.match(rec['skipped'] as string, /over max_size 1/);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.['level'], 30, 'info, not a warning');
    assert.deepEqual(
      [lines[0]?.['queue_id'], lines[0]?.['size'], lines[0]?.['max_size'], lines[0]?.['on_oversize']],
      ['Q1', 3, 1, policy],
    );
  }
  // Without on_oversize (a caller of the exported hook from before it existed): pass.
  const d = await run(skipped, { action: 'hold', on_failure: 'hold' });
  assert.deepEqual(d.v, { kind: 'continue' });
});

test('a bug in the scanner is not a failing environment: it propagates', async () => {
  await assert.rejects(
    run(
      () => {
        throw new TypeError('boom');
      },
      { action: 'reject', on_failure: 'pass' },
    ),
    TypeError,
  );
});

test('replySafe: printable ASCII only, bounded', () => {
  assert.equal(replySafe('Win.Test.EICAR_HDB-1'), 'Win.Test.EICAR_HDB-1');
  assert.equal(replySafe('a b\r\nc'), 'a?b??c');
  assert.equal(replySafe('x'.repeat(150)).length, 103);
});
