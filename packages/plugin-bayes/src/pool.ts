/**
 * pool.ts — the `spam-scanner` service backed by worker threads (the plugin's
 * default, `workers` ≥ 1).
 *
 * The main thread only reads the message head from its stream (at most
 * `maxScanBytes`, as the in-process scanner does) and transfers the bytes to a
 * worker (worker.ts), which holds the model and runs the same BayesScanner code:
 * verdicts are identical to the in-process path, only `durationMs` differs (it
 * is measured here, reading and the hand-over included).
 *
 * Faults: when a worker dies (crash, exit, out of memory, terminate) its
 * pending requests reject with ScannerUnavailableError, so the calling hook
 * fails closed, and the next scan routed to its slot starts a fresh worker. A
 * request that throws inside the worker rejects alone. A worker is ref'd only
 * while requests are in flight, so an idle pool never keeps the process alive;
 * close() terminates the workers.
 *
 * Learning with several workers: the learn goes to worker 0 first, which adds
 * the message to its local layer and saves the layer file (the only writer),
 * then to every other running worker, which adds it in memory. Learns and
 * worker (re)starts run one at a time, so a worker starting anew either loads a
 * file that already has a learn or receives it, never both.
 */
import type { Worker } from 'node:worker_threads';
import {
  ScannerUnavailableError,
  startWorkerThread,
  type ScanContext,
  type ScanMessage,
  type ScanVerdict,
  type SpamScanner,
} from '@smarthold/core';
import type { ModelInfo } from './model.js';
import { readForScan } from './scanner.js';
import type { MessageCounts, WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

/** The worker script, next to this file in dist/. */
const WORKER_URL = new URL('./worker.js', import.meta.url);

const NAME = 'bayes';

/**
 * The young generation of a worker's heap, in MB (V8's default on 64-bit
 * machines: 48). A scan leaves much short-lived garbage (decoded text, token
 * sets), so under load the young generation grows to its limit and stays
 * resident. With 16, a process scanning the 3,046 held-out corpus messages and
 * twenty 1 MB ones peaked ~13 MB lower, for no measurable CPU time; below
 * that, 1 MB messages scanned up to a quarter slower.
 */
const WORKER_YOUNG_GENERATION_MB = 16;

/** Starts a worker thread with the process's Node options (core's startWorkerThread). */
function startThread(setup: WorkerSetup): Worker {
  return startWorkerThread(WORKER_URL, {
    workerData: setup,
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
}

/** Options of {@link startBayesWorkers}. */
export interface WorkerPoolOptions {
  /** Worker threads, at least 1; each holds its own copy of the model. */
  readonly workers: number;
  readonly threshold: number;
  readonly maxScanBytes: number;
  readonly modelPath: string;
  /** The local layer file; learning is off when absent. */
  readonly localPath?: string;
  /** Test support: honour `X-Bayes-Test-Fault:` headers (see worker.ts). Never set in production. */
  readonly faults?: boolean;
  /**
   * A worker with requests in flight that answers none of them for this long
   * is taken for stuck (a message that makes the scan loop) and replaced; its
   * scans fail with ScannerUnavailableError. Default {@link STALL_MS}.
   */
  readonly stallMs?: number;
}

/**
 * Default of {@link WorkerPoolOptions.stallMs}: far beyond any real scan (a
 * 1 MB message takes tens of milliseconds), so only a stuck worker trips it.
 * Without it one such message would leave every later scan queued behind it,
 * and all mail that needs a verdict answered 4xx until a restart.
 */
export const STALL_MS = 30_000;

/** Omit applied to each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request before it gets its id. */
type Request = DistributiveOmit<WorkerRequest, 'id'>;

interface Ready {
  readonly info: ModelInfo;
  readonly counts: MessageCounts;
}

function unavailable(reason: string, cause?: unknown): ScannerUnavailableError {
  return new ScannerUnavailableError(NAME, reason, cause === undefined ? undefined : { cause });
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** One worker thread and its requests in flight. */
class ScanWorker {
  readonly thread: Worker;
  readonly ready: Promise<Ready>;
  readonly #pending = new Map<
    number,
    { resolve: (reply: WorkerReply) => void; reject: (err: Error) => void }
  >();
  #nextId = 0;
  #stopped: string | undefined;
  /** When the worker last answered, or took a request while idle. */
  #lastProgress = 0;
  #watchdog: NodeJS.Timeout | undefined;
  #settle!: { resolve: (ready: Ready) => void; reject: (err: Error) => void };

  constructor(
    setup: WorkerSetup,
    private readonly onStop: (worker: ScanWorker) => void,
    private readonly stallMs: number = STALL_MS,
  ) {
    this.ready = new Promise<Ready>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // Ref'd until ready: a caller awaiting start-up keeps the process alive.
    this.thread = startThread(setup);
    this.thread.on('message', (reply: WorkerReply) => {
      this.#receive(reply);
    });
    this.thread.on('error', (err) => {
      this.stop(`failed: ${err.message}`, err);
    });
    this.thread.on('messageerror', (err) => {
      this.stop(`sent an unreadable message: ${err.message}`, err);
    });
    this.thread.on('exit', (code) => {
      this.stop(`exited (code ${code})`);
    });
  }

  get alive(): boolean {
    return this.#stopped === undefined;
  }

  /** Sends a request; `bytes` is transferred (the caller's ArrayBuffer is detached). */
  request(body: Request): Promise<WorkerReply> {
    if (this.#stopped !== undefined)
      return Promise.reject(unavailable(`the scanning worker ${this.#stopped}`));
    const id = ++this.#nextId;
    return new Promise<WorkerReply>((resolve, reject) => {
      if (this.#pending.size === 0) {
        this.thread.ref();
        this.#watch();
      }
      this.#pending.set(id, { resolve, reject });
      try {
        this.thread.postMessage({ ...body, id }, [body.bytes]);
      } catch (err) {
        this.#pending.delete(id);
        if (this.#pending.size === 0) this.thread.unref();
        reject(unavailable(`cannot hand the message to the scanning worker: ${messageOf(err)}`, err));
      }
    });
  }

  /**
   * Marks the worker gone: start-up fails, pending requests reject with
   * ScannerUnavailableError, and the thread is terminated. Idempotent.
   */
  stop(reason: string, cause?: unknown): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    clearInterval(this.#watchdog);
    this.#settle.reject(new Error(`bayes: the scanning worker ${reason}`, { cause }));
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(unavailable(`the scanning worker ${reason}`, cause));
    this.onStop(this);
    void this.thread.terminate();
  }

  /** Stops the worker and waits until its thread has ended. */
  async close(): Promise<void> {
    this.stop('was stopped (the bayes scanner was closed)');
    await this.thread.terminate();
  }

  #receive(reply: WorkerReply): void {
    if (reply.op === 'ready') {
      if (this.#pending.size === 0) this.thread.unref();
      this.#settle.resolve({ info: reply.info, counts: reply.counts });
      return;
    }
    if (reply.op === 'start-failed') {
      // The model file's own message (names the file), as an in-process load would throw it.
      this.#settle.reject(new Error(reply.message));
      this.stop(`could not load the model: ${reply.message}`);
      return;
    }
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    this.#lastProgress = Date.now();
    if (this.#pending.size === 0) {
      this.thread.unref();
      clearInterval(this.#watchdog);
      this.#watchdog = undefined;
    }
    pending.resolve(reply);
  }

  /** Watches a worker that has work: replaced when it answers nothing for stallMs. */
  #watch(): void {
    this.#lastProgress = Date.now();
    if (this.#watchdog !== undefined) return;
    this.#watchdog = setInterval(
      () => {
        const silent = Date.now() - this.#lastProgress;
        if (this.#pending.size && silent > this.stallMs) {
          this.stop(
            `answered nothing for ${(silent / 1000).toFixed(1)} s with scans in flight (a message may make it loop); it is replaced`,
          );
        }
      },
      Math.min(1000, Math.max(10, this.stallMs / 4)),
    );
    this.#watchdog.unref();
  }
}

/**
 * The bytes as an ArrayBuffer of their own, to transfer: their buffer when they
 * fill it (readHead's do, and nothing else holds it), otherwise a copy.
 */
function ownBuffer(bytes: Buffer): ArrayBuffer {
  const buffer = bytes.buffer;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength)
    return buffer;
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

/**
 * The Bayes scanner running in worker threads. Create it with
 * {@link startBayesWorkers}; close() it when done.
 */
export class BayesWorkerScanner implements SpamScanner {
  readonly name = NAME;
  readonly #opts: WorkerPoolOptions;
  /** The running worker of each slot. */
  readonly #slots: (ScanWorker | undefined)[];
  /** A (re)start in progress per slot. */
  readonly #starting: (Promise<ScanWorker> | undefined)[];
  /** Scans routed to each slot and not finished yet (waiting for a start included). */
  readonly #load: number[];
  /** Every worker not yet stopped, running or starting. */
  readonly #threads = new Set<ScanWorker>();
  /** Learns and worker starts run one at a time (see the file comment). */
  #exclusive: Promise<unknown> = Promise.resolve();
  #closed = false;
  #info: ModelInfo | undefined;
  #counts: MessageCounts = { nspam: 0, nham: 0 };

  constructor(opts: WorkerPoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1)
      throw new Error(`bayes: workers must be an integer ≥ 1, not ${opts.workers}`);
    this.#opts = opts;
    this.#slots = Array.from({ length: opts.workers }, () => undefined);
    this.#starting = Array.from({ length: opts.workers }, () => undefined);
    this.#load = Array.from({ length: opts.workers }, () => 0);
  }

  /** Starts every worker (each loads the model); rejects with the model's error if one cannot. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.#slots.map((_w, i) => this.#spawn(i)));
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Metadata of the model in use. */
  get modelInfo(): ModelInfo {
    if (this.#info === undefined) throw new Error('bayes: the workers have not started');
    return this.#info;
  }

  /** Training messages behind the model (shipped plus learnt), as the writing worker last reported. */
  get messageCounts(): MessageCounts {
    return this.#counts;
  }

  /** Scans a message without changing it: reads its head here, scans it in a worker. */
  async scan(message: ScanMessage, _context?: ScanContext): Promise<ScanVerdict> {
    const started = performance.now();
    if (this.#closed) throw unavailable('the scanner is closed');
    const { raw, truncated } = await readForScan(message, this.#opts.maxScanBytes, NAME);
    const slot = this.#pick();
    this.#load[slot] = (this.#load[slot] ?? 0) + 1;
    try {
      const worker = await this.#workerAt(slot);
      const reply = await worker.request({ op: 'scan', bytes: ownBuffer(raw), truncated });
      if (reply.op === 'scanned')
        return { ...reply.verdict, durationMs: Math.round((performance.now() - started) * 100) / 100 };
      throw unavailable(
        reply.op === 'failed' ? `the scan failed: ${reply.message}` : `unexpected answer ${reply.op}`,
      );
    } finally {
      this.#load[slot] = (this.#load[slot] ?? 1) - 1;
    }
  }

  /**
   * Adds a message to the local layer of every worker as spam or ham; resolves
   * once worker 0 has saved the layer file.
   */
  async learn(message: ScanMessage, label: 'spam' | 'ham'): Promise<void> {
    if (this.#opts.localPath === undefined) throw new Error('bayes: learning is disabled (learn = false)');
    if (this.#closed) throw unavailable('the scanner is closed');
    const { raw } = await readForScan(message, this.#opts.maxScanBytes, NAME);
    await this.#serial(async () => {
      const writer = await this.#spawn(0).catch((err: unknown) => {
        throw err instanceof ScannerUnavailableError
          ? err
          : unavailable(`could not start the scanning worker: ${messageOf(err)}`, err);
      });
      const reply = await writer.request({ op: 'learn', bytes: new Uint8Array(raw).buffer, label });
      if (reply.op === 'failed') throw new Error(`bayes: learning failed: ${reply.message}`);
      if (reply.op !== 'learnt') throw new Error(`bayes: unexpected answer ${reply.op}`);
      this.#counts = reply.counts;
      // The writer has it in memory (saved or not): the others must match it. A worker
      // that dies meanwhile restarts from the saved file.
      const others = this.#slots.slice(1).filter((w): w is ScanWorker => w?.alive === true);
      await Promise.allSettled(
        others.map((w) => w.request({ op: 'learn', bytes: new Uint8Array(raw).buffer, label })),
      );
      if (reply.saveError !== undefined)
        throw new Error(`bayes: could not save the local layer: ${reply.saveError}`);
    });
  }

  /** Terminates the workers; later scans reject with ScannerUnavailableError. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#threads].map((w) => w.close()));
  }

  /** Test support: the thread of a slot's running worker. */
  workerThread(slot: number): Worker | undefined {
    const w = this.#slots[slot];
    return w?.alive === true ? w.thread : undefined;
  }

  /** The slot with the fewest scans in flight (a slot without a worker counts what waits for its start). */
  #pick(): number {
    let best = 0;
    for (let i = 1; i < this.#load.length; i++) if ((this.#load[i] ?? 0) < (this.#load[best] ?? 0)) best = i;
    return best;
  }

  /** The slot's running worker, or a fresh one (started one at a time with learns). */
  async #workerAt(slot: number): Promise<ScanWorker> {
    const running = this.#slots[slot];
    if (running?.alive === true) return running;
    let starting = this.#starting[slot];
    if (starting === undefined) {
      starting = this.#serial(() => this.#spawn(slot)).finally(() => {
        this.#starting[slot] = undefined;
      });
      this.#starting[slot] = starting;
    }
    try {
      return await starting;
    } catch (err) {
      if (err instanceof ScannerUnavailableError) throw err;
      throw unavailable(`could not start the scanning worker: ${messageOf(err)}`, err);
    }
  }

  /** Starts a worker in a slot unless one runs there, and waits until its model is loaded. */
  async #spawn(slot: number): Promise<ScanWorker> {
    const running = this.#slots[slot];
    if (running?.alive === true) return running;
    if (this.#closed) throw unavailable('the scanner is closed');
    const { localPath, faults } = this.#opts;
    const worker = new ScanWorker(
      {
        modelPath: this.#opts.modelPath,
        threshold: this.#opts.threshold,
        maxScanBytes: this.#opts.maxScanBytes,
        writesLocal: slot === 0 && localPath !== undefined,
        ...(localPath === undefined ? {} : { localPath }),
        ...(faults === true ? { faults } : {}),
      },
      (stopped) => {
        this.#threads.delete(stopped);
        if (this.#slots[slot] === stopped) this.#slots[slot] = undefined;
      },
      this.#opts.stallMs,
    );
    this.#threads.add(worker);
    const ready = await worker.ready;
    if (!worker.alive) throw unavailable('the scanning worker stopped while starting');
    this.#slots[slot] = worker;
    this.#info ??= ready.info;
    if (slot === 0) this.#counts = ready.counts;
    return worker;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#exclusive.then(fn, fn);
    this.#exclusive = run.catch(() => undefined);
    return run;
  }
}

/**
 * Starts the Bayes scanner in worker threads and waits until every worker has
 * loaded the model (a broken model file rejects with its error).
 *
 * @example
 * const scanner = await startBayesWorkers({ workers: 1, threshold: 99, maxScanBytes: 1 << 20, modelPath: SHIPPED_MODEL });
 * try { console.log((await scanner.scan(message)).score); } finally { await scanner.close(); }
 */
export async function startBayesWorkers(opts: WorkerPoolOptions): Promise<BayesWorkerScanner> {
  const scanner = new BayesWorkerScanner(opts);
  await scanner.start();
  return scanner;
}
