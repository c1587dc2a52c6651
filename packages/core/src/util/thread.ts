/**
 * util/thread.ts — starting a worker thread with the process's Node options.
 *
 * Used by core's delivery thread and by plugins that keep work off the event
 * loop (the Bayes scanner). It does not restart threads or speak any protocol.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Whether the process was started with `--input-type`. */
const hasInputType = (args: readonly string[]): boolean =>
  args.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='));

/**
 * Starts a worker thread. It inherits the process's Node options as they are
 * (V8 ones such as --max-old-space-size included), except when the process was
 * started with `--input-type`: that one only applies to code given with --eval
 * or on stdin, so a worker that inherits it cannot start. The other options
 * are then given as a list, which Node refuses when it holds a V8 or
 * per-process option (those apply to the worker anyway): the worker then
 * starts with none.
 *
 * @example
 * const w = startWorkerThread(new URL('./worker.js', import.meta.url), { workerData: setup });
 */
export function startWorkerThread(url: URL, options: WorkerOptions): Worker {
  if (!hasInputType(process.execArgv)) return new Worker(url, options);
  const execArgv: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i] ?? '';
    if (arg === '--input-type') i++;
    else if (!arg.startsWith('--input-type=')) execArgv.push(arg);
  }
  try {
    return new Worker(url, { ...options, execArgv });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    return new Worker(url, { ...options, execArgv: [] });
  }
}
