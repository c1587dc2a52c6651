/**
 * spam/combine.ts — several spam scanners seen as one `spam-scanner`.
 *
 * When more than one scanner plugin is loaded, a plugin that requires
 * `spam-scanner` gets this combined scanner. Policies: `any` (spam when any
 * scanner says so), `all` (when every one does), `weighted` (the weighted mean
 * of score/threshold reaches 1). Every scanner is asked; the combined verdict
 * keeps each one's verdict in `parts`. A scanner that throws (tempfail policy)
 * makes the combined scan throw: fail closed.
 */
import type { ServiceCombiner } from '../plugin/host.js';
import type { ScanVerdict, SpamScanner } from './contract.js';

export interface CombinePolicy {
  readonly policy: 'any' | 'all' | 'weighted';
  /** Weights by scanner name (weighted policy); missing names weigh 1. */
  readonly weights: Readonly<Record<string, number>>;
}

/** Decides spam from individual verdicts. */
export function combineVerdicts(
  parts: readonly ScanVerdict[],
  p: CombinePolicy,
): { isSpam: boolean; score: number } {
  if (!parts.length) return { isSpam: false, score: 0 };
  if (p.policy === 'any')
    return { isSpam: parts.some((v) => v.isSpam), score: Math.max(...parts.map((v) => v.score)) };
  if (p.policy === 'all')
    return { isSpam: parts.every((v) => v.isSpam), score: Math.min(...parts.map((v) => v.score)) };
  let sum = 0;
  let weights = 0;
  for (const v of parts) {
    const w = p.weights[v.scanner] ?? 1;
    const rel = v.threshold > 0 ? v.score / v.threshold : v.isSpam ? 1 : 0;
    sum += w * rel;
    weights += w;
  }
  const score = weights > 0 ? sum / weights : 0;
  return { isSpam: score >= 1, score };
}

/** Builds the combined scanner. */
export function combineScanners(scanners: readonly SpamScanner[], p: CombinePolicy): SpamScanner {
  const canLearn = scanners.filter((s) => typeof s.learn === 'function');
  const combined: SpamScanner = {
    name: 'combined',
    async scan(message, context) {
      const started = performance.now();
      const parts = await Promise.all(scanners.map((s) => s.scan(message, context)));
      const { isSpam, score } = combineVerdicts(parts, p);
      return {
        scanner: 'combined',
        score,
        threshold: p.policy === 'weighted' ? 1 : 0,
        isSpam,
        rules: parts.flatMap((v) => v.rules.map((r) => ({ ...r, name: `${v.scanner}:${r.name}` }))),
        durationMs: performance.now() - started,
        parts,
      };
    },
  };
  if (canLearn.length) {
    return {
      ...combined,
      async learn(message, label) {
        await Promise.all(canLearn.flatMap((s) => (s.learn ? [s.learn(message, label)] : [])));
      },
    };
  }
  return combined;
}

/** The service combiners smarthold installs in its plugin host: several `spam-scanner` providers become one. */
export function serviceCombiners(scanning: CombinePolicy): Map<string, ServiceCombiner> {
  return new Map<string, ServiceCombiner>([
    [
      'spam-scanner',
      (list) =>
        combineScanners(
          list.map((p) => p.impl as SpamScanner),
          scanning,
        ),
    ],
  ]);
}
