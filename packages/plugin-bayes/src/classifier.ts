/**
 * classifier.ts — combines token counts into a spam probability.
 *
 * Per token, Graham's ratio p = (s/S) / (s/S + h/H) is smoothed toward a prior
 * with Robinson's f(w) = (a·x + n·p) / (a + n), where n is how many training
 * messages held the token. Only the most telling tokens (|f − 0.5| ≥
 * minDistance, at most maxTokens of them) are kept, and they are combined by
 * Fisher's method as Robinson proposed: spamminess S and hamminess H are
 * chi-square tests over the kept f values, and the result is I = (1 + S − H)/2,
 * which stays near 0.5 when the evidence is weak or contradicts itself.
 * Pure functions; no I/O, no tokenizing.
 */
import type { CountSource } from './model.js';

/** Tuning knobs of the combiner (chosen by cross-validation; stored in the model). */
export interface ClassifierParams {
  /** Robinson's a: how many messages' worth of weight the prior has. */
  readonly strength: number;
  /** Robinson's x: the probability assumed for a token never seen. */
  readonly prior: number;
  /** Tokens with |f − 0.5| below this are ignored. */
  readonly minDistance: number;
  /** At most this many tokens (the most extreme) are combined. */
  readonly maxTokens: number;
}

/** The shipped parameters, chosen by source-grouped cross-validation on the 2002 sets (model/cv-report.md). */
export const DEFAULT_PARAMS: ClassifierParams = {
  strength: 0.45,
  prior: 0.5,
  minDistance: 0.2,
  maxTokens: 400,
};

/** One token that took part in a decision. */
export interface Evidence {
  readonly token: string;
  /** Robinson's f(w): 0 = only ever in ham, 1 = only ever in spam. */
  readonly f: number;
}

/** A classification. */
export interface Classification {
  /** Robinson-Fisher indicator I in [0, 1]. */
  readonly probability: number;
  /** Spamminess S and hamminess H, each in [0, 1]. */
  readonly spamminess: number;
  readonly hamminess: number;
  /** The tokens used, most extreme first. */
  readonly evidence: readonly Evidence[];
}

/** Robinson's f(w) for a token, or undefined when the token is unknown. */
export function tokenProbability(
  model: CountSource,
  token: string,
  params: ClassifierParams,
): number | undefined {
  const c = model.counts(token);
  if (!c) return undefined;
  const [s, h] = c;
  const n = s + h;
  if (n === 0) return undefined;
  const spamRatio = model.nspam > 0 ? s / model.nspam : 0;
  const hamRatio = model.nham > 0 ? h / model.nham : 0;
  const p = spamRatio + hamRatio > 0 ? spamRatio / (spamRatio + hamRatio) : params.prior;
  const f = (params.strength * params.prior + n * p) / (params.strength + n);
  // Clamp so a single token can never reach certainty (ln 0 = −∞).
  return Math.min(0.9999, Math.max(0.0001, f));
}

/**
 * Upper tail of the chi-square distribution, P(X ≥ x2) with `df` (even)
 * degrees of freedom: e^(−m) · Σ_{i<df/2} m^i / i!, with m = x2/2.
 */
export function chi2Q(x2: number, df: number): number {
  const m = x2 / 2;
  let term = Math.exp(-m);
  let sum = term;
  for (let i = 1; i < df / 2; i++) {
    term *= m / i;
    sum += term;
  }
  return Math.min(1, sum);
}

/**
 * Looks up tokens and keeps those far enough from 0.5. Called on slices of a
 * large token set so the caller can yield between slices.
 */
export function collectEvidence(
  model: CountSource,
  tokens: Iterable<string>,
  params: ClassifierParams,
  into: Evidence[] = [],
): Evidence[] {
  for (const token of tokens) {
    const f = tokenProbability(model, token, params);
    if (f !== undefined && Math.abs(f - 0.5) >= params.minDistance) into.push({ token, f });
  }
  return into;
}

/** Combines collected evidence (Fisher-Robinson) into a classification. */
export function combine(collected: Evidence[], params: ClassifierParams): Classification {
  collected.sort((a, b) => Math.abs(b.f - 0.5) - Math.abs(a.f - 0.5) || (a.token < b.token ? -1 : 1));
  const evidence = collected.slice(0, params.maxTokens);
  if (evidence.length === 0) return { probability: 0.5, spamminess: 0, hamminess: 0, evidence };
  let lnHam = 0;
  let lnSpam = 0;
  for (const { f } of evidence) {
    lnHam += Math.log(f);
    lnSpam += Math.log(1 - f);
  }
  const df = 2 * evidence.length;
  const spamminess = 1 - chi2Q(-2 * lnSpam, df);
  const hamminess = 1 - chi2Q(-2 * lnHam, df);
  return { probability: (1 + spamminess - hamminess) / 2, spamminess, hamminess, evidence };
}

/**
 * Classifies a set of tokens (synchronously; see scanner.ts for the sliced form).
 *
 * @example
 * classify(model, new Set(['subject:free', 'viagra']), DEFAULT_PARAMS).probability // ≈ 1 on a trained model
 */
export function classify(
  model: CountSource,
  tokens: Iterable<string>,
  params: ClassifierParams,
): Classification {
  return combine(collectEvidence(model, tokens, params), params);
}
