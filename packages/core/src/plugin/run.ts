/**
 * plugin/run.ts — call one hook: deadline, failure policy, trace.
 *
 * A hook that throws or overruns its deadline gives a temporary failure (fail
 * closed) unless it registered with `onError: 'continue'`. Every call leaves a
 * trace entry. It does not decide what verdicts mean; plugin/host.ts does.
 */
import type { Logger } from 'pino';
import { DeadlineExceeded, withDeadline } from '../util/deadline.js';
import type { HookName } from './api.js';
import type { ResultsStore, TraceEntry } from './results.js';
import { describeVerdict, type TempfailVerdict, type Verdict } from './verdict.js';

/** A registered hook. */
export interface RegisteredHook {
  readonly plugin: string;
  readonly hook: HookName;
  readonly fn: (...args: never[]) => Promise<unknown>;
  readonly timeoutMs: number;
  readonly onError: 'tempfail' | 'continue';
}

/** Observes hook latency (metrics). */
export type HookObserver = (plugin: string, hook: string, seconds: number) => void;

/** The verdict for a hook that failed under the `tempfail` policy. */
export function failureVerdict(timedOut: boolean): TempfailVerdict {
  return timedOut
    ? {
        kind: 'tempfail',
        code: 451,
        enhanced: '4.4.5',
        text: 'Timeout while checking the message, try again later',
      }
    : { kind: 'tempfail', code: 451, enhanced: '4.3.0', text: 'Temporary local problem, try again later' };
}

/**
 * Calls a hook and returns its verdict (a failure becomes tempfail or continue).
 * `invoke` performs the call with the plugin-specific arguments.
 */
export async function callHook<V extends Verdict>(
  reg: RegisteredHook,
  invoke: () => Promise<V>,
  opts: {
    results?: ResultsStore | undefined;
    recipient?: string;
    log: Logger;
    observe?: HookObserver | undefined;
    now: () => number;
  },
): Promise<V | TempfailVerdict | { kind: 'continue' }> {
  const at = opts.now();
  const started = performance.now();
  let result: V | TempfailVerdict | { kind: 'continue' };
  let error: string | undefined;
  try {
    result = await withDeadline(invoke(), reg.timeoutMs);
    if (typeof result !== 'object' || typeof (result as { kind?: unknown }).kind !== 'string') {
      throw new TypeError(`hook returned ${JSON.stringify(result)}, not a verdict`);
    }
  } catch (err) {
    const timedOut = err instanceof DeadlineExceeded;
    error = timedOut ? `timeout after ${reg.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
    opts.log.warn(
      { plugin: reg.plugin, hook: reg.hook, err: timedOut ? undefined : err, policy: reg.onError },
      `hook ${reg.plugin}/${reg.hook} ${timedOut ? 'overran its deadline' : 'threw'}: ${error}`,
    );
    result = reg.onError === 'continue' ? { kind: 'continue' } : failureVerdict(timedOut);
  }
  const ms = performance.now() - started;
  opts.observe?.(reg.plugin, reg.hook, ms / 1000);
  const entry: TraceEntry = {
    plugin: reg.plugin,
    hook: reg.hook,
    verdict: describeVerdict(result),
    ms: Math.round(ms * 1000) / 1000,
    at,
    ...(opts.recipient === undefined ? {} : { recipient: opts.recipient }),
    ...(error === undefined ? {} : { error }),
  };
  opts.results?.addTrace(entry);
  return result;
}
