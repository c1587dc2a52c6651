/**
 * train/cv.ts — k-fold cross-validation on the 2002 training sets, to choose
 * tokenizer switches, classifier parameters, pruning and the threshold.
 *
 * Only TRAINING_SETS are read here: the 2003 sets stay untouched until the
 * final benchmark. Each candidate is scored on every fold by a model trained
 * on the other folds; a threshold is then chosen as the one with the best
 * recall whose cross-validated false-positive rate stays within `maxFpr`.
 * Prints nothing; scripts/cv.mjs formats the result.
 */
import { collectEvidence, combine, type ClassifierParams } from '../classifier.js';
import { keepToken, type CountSource, type Counts, type TokenCounts } from '../model.js';
import type { TokenizerOptions } from '../tokenize.js';
import { loadSet, TRAINING_SETS, type CorpusMessage } from './corpus.js';
import { countAll, tokenizeAll } from './train.js';

/** One configuration to try. */
export interface Candidate {
  readonly tokenizer: TokenizerOptions;
  readonly classifier: ClassifierParams;
  /** Word pairs seen in fewer training messages are pruned (single tokens are always kept). */
  readonly minCount: number;
}

/** Cross-validated result of one candidate at its chosen threshold. */
export interface CvRow {
  readonly candidate: Candidate;
  readonly threshold: number;
  readonly recall: number;
  readonly fpr: number;
  readonly falsePositives: number;
  /** False positives among the few HTML ham messages (a proxy for harder ham). */
  readonly htmlHamFalsePositives: number;
  readonly htmlHam: number;
  /** False when no tried threshold kept the CV FPR within budget (the row shows the strictest one). */
  readonly withinBudget: boolean;
  /** Recall and FPR at every tried threshold. */
  readonly curve: readonly { threshold: number; recall: number; fpr: number }[];
}

/** Thresholds (probability) tried for every candidate. */
export const THRESHOLDS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999];

/** Training counts minus one fold, with pruning applied as in a shipped model. */
class HeldOutFold implements CountSource {
  constructor(
    private readonly total: TokenCounts,
    private readonly fold: TokenCounts,
    private readonly minCount: number,
  ) {}
  get nspam(): number {
    return this.total.nspam - this.fold.nspam;
  }
  get nham(): number {
    return this.total.nham - this.fold.nham;
  }
  counts(token: string): Counts | undefined {
    const t = this.total.counts(token);
    if (!t) return undefined;
    const f = this.fold.counts(token);
    const s = t[0] - (f?.[0] ?? 0);
    const h = t[1] - (f?.[1] ?? 0);
    if (s + h === 0) return undefined;
    return keepToken(token, [s, h], this.minCount) ? [s, h] : undefined;
  }
}

/**
 * Runs k-fold cross-validation for every candidate.
 *
 * @example
 * const rows = await crossValidate(candidates, { folds: 10, maxFpr: 0.002 });
 */
export async function crossValidate(
  candidates: readonly Candidate[],
  opts: { folds: number; maxFpr: number; grouped?: boolean; messages?: CorpusMessage[] },
): Promise<CvRow[]> {
  const messages = opts.messages ?? (await Promise.all(TRAINING_SETS.map((s) => loadSet(s)))).flat();
  const labels = messages.map((m) => m.label);
  const html = messages.map((m) => /content-type:\s*text\/html/i.test(m.raw.toString('latin1')));
  const foldOf = opts.grouped ? groupedFolds(messages, opts.folds) : messages.map((_m, i) => i % opts.folds);
  const byTokenizer = new Map<string, Set<string>[]>();
  const rows: CvRow[] = [];
  for (const candidate of candidates) {
    const key = JSON.stringify(candidate.tokenizer);
    let tokens = byTokenizer.get(key);
    if (!tokens) {
      tokens = await tokenizeAll(messages, candidate.tokenizer);
      byTokenizer.set(key, tokens);
    }
    const total = countAll(tokens, labels);
    const probs = new Array<number>(messages.length).fill(0.5);
    for (let k = 0; k < opts.folds; k++) {
      const idx = messages.map((_m, i) => i).filter((i) => foldOf[i] === k);
      const fold = countAll(
        idx.map((i) => tokens[i] ?? new Set<string>()),
        idx.map((i) => labels[i] ?? 'ham'),
      );
      const source = new HeldOutFold(total, fold, candidate.minCount);
      for (const i of idx)
        probs[i] = combine(
          collectEvidence(source, tokens[i] ?? [], candidate.classifier),
          candidate.classifier,
        ).probability;
    }
    rows.push(pickThreshold(candidate, probs, labels, html, opts.maxFpr));
  }
  return rows;
}

/**
 * Folds that imitate drift: ham is split by source (the archived envelope
 * sender, i.e. mostly by mailing list), so each fold's ham comes from sources
 * the model never saw; spam is split into consecutive blocks of arrival order,
 * so each fold's spam comes from a period the model saw less of.
 */
export function groupedFolds(messages: readonly CorpusMessage[], folds: number): number[] {
  const out = new Array<number>(messages.length).fill(0);
  const spam = messages.map((m, i) => ({ m, i })).filter(({ m }) => m.label === 'spam');
  spam.forEach(({ i }, rank) => (out[i] = Math.floor((rank * folds) / spam.length)));
  const groups = new Map<string, number[]>();
  messages.forEach((m, i) => {
    if (m.label !== 'ham') return;
    const list = groups.get(m.source) ?? [];
    list.push(i);
    groups.set(m.source, list);
  });
  const load = new Array<number>(folds).fill(0);
  for (const members of [...groups.values()].sort((a, b) => b.length - a.length)) {
    const target = load.indexOf(Math.min(...load));
    load[target] = (load[target] ?? 0) + members.length;
    for (const i of members) out[i] = target;
  }
  return out;
}

function pickThreshold(
  candidate: Candidate,
  probs: number[],
  labels: ('spam' | 'ham')[],
  html: boolean[],
  maxFpr: number,
): CvRow {
  const nspam = labels.filter((l) => l === 'spam').length;
  const nham = labels.length - nspam;
  const htmlHam = labels.filter((l, i) => l === 'ham' && html[i]).length;
  const curve = THRESHOLDS.map((threshold) => {
    let tp = 0;
    let fp = 0;
    let htmlFp = 0;
    probs.forEach((p, i) => {
      if (p < threshold) return;
      if (labels[i] === 'spam') tp++;
      else {
        fp++;
        if (html[i]) htmlFp++;
      }
    });
    return { threshold, recall: tp / nspam, fpr: fp / nham, fp, htmlFp };
  });
  const ok = curve.filter((c) => c.fpr <= maxFpr);
  const best =
    ok.sort((a, b) => b.recall - a.recall || a.threshold - b.threshold)[0] ?? curve[curve.length - 1];
  return {
    candidate,
    threshold: best?.threshold ?? 1,
    recall: best?.recall ?? 0,
    fpr: best?.fpr ?? 0,
    falsePositives: best?.fp ?? 0,
    htmlHamFalsePositives: best?.htmlFp ?? 0,
    htmlHam,
    withinBudget: ok.length > 0,
    curve: curve.map(({ threshold, recall, fpr }) => ({ threshold, recall, fpr })),
  };
}
