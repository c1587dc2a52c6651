import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isQueueId, newQueueId, queueIdTimePrefix } from './queue-id.js';

test('ids of one millisecond differ, across many refills of the random pool', () => {
  const now = Date.UTC(2026, 11, 3);
  const ids = new Set<string>();
  // 2,000 ids take 8 KB of randomness: the 1 KB pool is refilled 8 times.
  for (let i = 0; i < 2_000; i++) ids.add(newQueueId(now));
  // 5 base-31 digits are ~28.6 million values: 2,000 draws repeat one with a chance of ~7 %,
  // three or more with one in ~100,000. Repeats all the time would mean a pool read twice.
  assert.ok(ids.size >= 1_998, `${String(2_000 - ids.size)} repeated ids`);
  for (const id of ids) {
    assert.ok(isQueueId(id), id);
    assert.ok(id.startsWith(queueIdTimePrefix(now)), id);
  }
});

test('ids sort by arrival time', () => {
  const a = newQueueId(1_000);
  const b = newQueueId(1_001);
  assert.ok(a < b, `${a} < ${b}`);
});
