/**
 * assert.ts — assertions over a TransactionResult, with messages that show
 * what happened instead (the stage's verdict and reply, the results, the trace).
 *
 * Thin wrappers around node:assert: they throw AssertionError, so they work
 * with any test runner. They do not run anything.
 */
import assert from 'node:assert/strict';
import type { Json } from '@smarthold/core';
import type { RecipientResult, Stage, TransactionResult } from './transaction.js';

/**
 * What {@link assertVerdict} compares. Command stages: continue, accept,
 * reject, tempfail. `data`: reject or tempfail, or for an accepted message
 * deliver / hold / discard when every recipient has that outcome, else
 * "recipients". Any stage: "not-reached".
 */
export type VerdictKind =
  | 'continue'
  | 'accept'
  | 'reject'
  | 'tempfail'
  | 'deliver'
  | 'hold'
  | 'discard'
  | 'recipients'
  | 'not-reached';

/** The kind {@link assertVerdict} sees at a stage (for rcpt: one recipient's). */
export function verdictKind(result: TransactionResult, stage: Stage, recipient?: string): VerdictKind {
  const v = result.verdicts;
  if (stage === 'rcpt') {
    const all = Object.keys(result.outcomes);
    const r = recipient ?? (all.length === 1 ? all[0] : undefined);
    if (r === undefined)
      throw new TypeError(
        `assertVerdict: several recipients (${all.join(', ')}); say which with { recipient }`,
      );
    return v.rcpt[r]?.kind ?? 'not-reached';
  }
  if (stage !== 'data') return v[stage]?.kind ?? 'not-reached';
  const d = v.data;
  if (!d) return 'not-reached';
  // A reject that also holds (`reject(..., { hold })`) is a reject to the client; its outcomes say hold.
  if (d.kind !== 'accept') return d.kind;
  const kinds = new Set([...d.outcomes.values()].map((o) => o.kind));
  const [only] = kinds;
  return kinds.size === 1 && only ? only : 'recipients';
}

function describe(result: TransactionResult): string {
  const lines = ['transaction:'];
  for (const s of ['connect', 'helo', 'mail'] as const) {
    const r = result.replies[s];
    if (r) lines.push(`  ${s}: ${result.verdicts[s]?.kind ?? '-'} → ${r.text}`);
  }
  for (const [rcpt, r] of Object.entries(result.replies.rcpt))
    lines.push(`  rcpt ${rcpt}: ${result.verdicts.rcpt[rcpt]?.kind ?? '-'} → ${r.text}`);
  if (result.replies.data) lines.push(`  data: ${result.replies.data.text}`);
  lines.push(
    `  outcomes: ${Object.entries(result.outcomes)
      .map(([a, o]: [string, RecipientResult]) => `${a}=${o.kind}`)
      .join(', ')}`,
  );
  lines.push('trace:');
  for (const t of result.trace)
    lines.push(
      `  ${t.plugin}/${t.hook}${t.recipient ? ` <${t.recipient}>` : ''}: ${t.verdict}${t.error ? ` (${t.error})` : ''}`,
    );
  lines.push('results:');
  for (const r of result.results)
    lines.push(
      `  ${r.plugin}.${r.key}${r.recipient ? ` <${r.recipient}>` : ''} = ${JSON.stringify(r.value)}`,
    );
  return lines.join('\n');
}

/**
 * Asserts the verdict at a stage.
 *
 * @example
 * assertVerdict(r, 'rcpt', 'reject', { recipient: 'x@blocked.example' });
 * assertVerdict(r, 'data', 'hold');
 */
export function assertVerdict(
  result: TransactionResult,
  stage: Stage,
  kind: VerdictKind,
  opts: { recipient?: string } = {},
): void {
  const got = verdictKind(result, stage, opts.recipient);
  if (got === kind) return;
  const where = stage === 'rcpt' && opts.recipient ? `rcpt <${opts.recipient}>` : stage;
  assert.fail(`expected verdict "${kind}" at ${where}, got "${got}"\n${describe(result)}`);
}

/**
 * Asserts that `plugin` recorded `key` with a value deep-equal to `expected`.
 *
 * @example
 * assertResult(r, 'limits', 'count', 3);
 * assertResult(r, 'limits', 'over', true, { recipient: 'b@example.net' });
 */
export function assertResult(
  result: TransactionResult,
  plugin: string,
  key: string,
  expected: Json,
  opts: { recipient?: string } = {},
): void {
  const rec = result.results.find(
    (r) => r.plugin === plugin && r.key === key && r.recipient === opts.recipient,
  );
  const what = `${plugin}.${key}${opts.recipient ? ` <${opts.recipient}>` : ''}`;
  if (!rec) assert.fail(`no result ${what}\n${describe(result)}`);
  assert.deepStrictEqual(
    rec.value,
    expected,
    `result ${what} is ${JSON.stringify(rec.value)}, expected ${JSON.stringify(expected)}`,
  );
}

/**
 * Asserts that a hook of `plugin` ran (appears in the trace); returns its trace entries.
 *
 * @example
 * assertTraced(r, 'limits', 'rcpt');
 */
export function assertTraced(
  result: TransactionResult,
  plugin: string,
  hook: string,
): TransactionResult['trace'] {
  const hits = result.trace.filter((t) => t.plugin === plugin && t.hook === hook);
  if (!hits.length) assert.fail(`hook ${plugin}/${hook} did not run\n${describe(result)}`);
  return hits;
}
