/**
 * rules.ts — explicit rules that do not depend on the model, and the rule
 * entries that explain a Bayes score.
 *
 * GTUBE (the Generic Test for Unsolicited Bulk Email, the string SpamAssassin
 * and rspamd also honour) makes any message spam, so operators can test the
 * whole path without real spam. Rules here only read; no rule adds headers or
 * changes the message.
 */
import type { ScanRule } from '@smarthold/core';
import type { Classification } from './classifier.js';

/**
 * The GTUBE test string, as @smarthold/core exports it (worker.test.ts checks
 * they are equal). Kept here so that the worker thread, which loads this file,
 * does not load the core package for one constant.
 */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
const GTUBE_BYTES = Buffer.from(GTUBE, 'latin1');

/** Score of the GTUBE rule: far above any threshold. */
export const GTUBE_SCORE = 1000;

/** True when the raw bytes or any decoded text part contain GTUBE. */
export function hasGtube(raw: Buffer, texts: readonly string[]): boolean {
  return raw.includes(GTUBE_BYTES) || texts.some((t) => t.includes(GTUBE));
}

/** The GTUBE rule entry. */
export function gtubeRule(): ScanRule {
  return {
    name: 'GTUBE',
    score: GTUBE_SCORE,
    description: 'Generic Test for Unsolicited Bulk Email (test string found)',
  };
}

/** Number of `BAYES_TOKEN` entries listed with a verdict. */
export const TOKEN_RULES = 5;

/**
 * The rules explaining a Bayes score: `BAYES_SPAM_PROB` (the score itself,
 * 0–100) and the most telling tokens as zero-score `BAYES_TOKEN` entries.
 */
export function bayesRules(result: Classification): ScanRule[] {
  const score = bayesScore(result.probability);
  const rules: ScanRule[] = [
    {
      name: 'BAYES_SPAM_PROB',
      score,
      description: `Bayes spam probability ${score.toFixed(1)}% from ${result.evidence.length} tokens (S=${result.spamminess.toFixed(3)}, H=${result.hamminess.toFixed(3)})`,
    },
  ];
  for (const { token, f } of result.evidence.slice(0, TOKEN_RULES)) {
    const shown = token.length > 48 ? token.slice(0, 48) + '…' : token;
    rules.push({
      name: 'BAYES_TOKEN',
      score: 0,
      description: `${f >= 0.5 ? 'spam' : 'ham'} ${f.toFixed(3)} ${JSON.stringify(shown)}`,
    });
  }
  return rules;
}

/** Maps the combined probability to the operator's 0–100 scale, one decimal. */
export function bayesScore(probability: number): number {
  return Math.round(probability * 1000) / 10;
}

/** Rule noted when the message exceeded `max_scan_bytes` and only its head was read. */
export function truncatedRule(limit: number): ScanRule {
  return { name: 'SCAN_TRUNCATED', score: 0, description: `only the first ${limit} bytes were scanned` };
}

/** Rule noted when the MIME structure was broken and parts of it were read as plain text. */
export function malformedRule(): ScanRule {
  return { name: 'MIME_MALFORMED', score: 0, description: 'broken MIME structure; read leniently' };
}
