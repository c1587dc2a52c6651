/**
 * classifier.test.ts — the Robinson-Fisher combiner on a toy model.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { chi2Q, classify, DEFAULT_PARAMS, tokenProbability } from './classifier.js';
import { TokenCounts } from './model.js';

function toyModel(): TokenCounts {
  const m = new TokenCounts();
  for (let i = 0; i < 20; i++) m.add(['cheap', 'pills', 'offer', 'common'], 'spam');
  for (let i = 0; i < 20; i++) m.add(['meeting', 'patch', 'kernel', 'common'], 'ham');
  return m;
}

it('chi2Q matches known values', () => {
  assert.ok(Math.abs(chi2Q(2, 2) - Math.exp(-1)) < 1e-12);
  assert.equal(chi2Q(0, 10), 1);
  assert.ok(chi2Q(1000, 10) < 1e-100);
});

it("f(w) follows Robinson's smoothing and ignores unknown tokens", () => {
  const m = toyModel();
  assert.ok((tokenProbability(m, 'cheap', DEFAULT_PARAMS) ?? 0) > 0.95);
  assert.ok((tokenProbability(m, 'kernel', DEFAULT_PARAMS) ?? 1) < 0.05);
  assert.equal(tokenProbability(m, 'common', DEFAULT_PARAMS), 0.5);
  assert.equal(tokenProbability(m, 'never-seen', DEFAULT_PARAMS), undefined);
});

it('separates spam from ham and stays unsure on mixed or no evidence', () => {
  const m = toyModel();
  assert.ok(classify(m, ['cheap', 'pills', 'offer'], DEFAULT_PARAMS).probability > 0.95);
  assert.ok(classify(m, ['meeting', 'patch', 'kernel'], DEFAULT_PARAMS).probability < 0.05);
  const mixed = classify(m, ['cheap', 'pills', 'meeting', 'patch'], DEFAULT_PARAMS).probability;
  assert.ok(mixed > 0.3 && mixed < 0.7, String(mixed));
  assert.equal(classify(m, ['unknown'], DEFAULT_PARAMS).probability, 0.5);
});

it('removing what was added restores the counts', () => {
  const m = toyModel();
  m.add(['x', 'cheap'], 'ham');
  m.add(['x', 'cheap'], 'ham', -1);
  assert.equal(m.counts('x'), undefined);
  assert.deepEqual(m.counts('cheap'), [20, 0]);
  assert.equal(m.nham, 20);
});
